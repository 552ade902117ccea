"""The consumer-groups refresh in a process of its own, so that its thousands of librdkafka result
callbacks and summaries never hold the GUI's interpreter lock. No Qt.

The parent writes pickled frames to stdin: first (profile, credentials, timeout), then one
(priority, lag threshold) per refresh. The child answers each refresh with frames on stdout:
("listed", groups) when the list of group ids changed, ("stage", groups) with the groups whose
summary changed, then ("done", (events, time, note)) or ("failed", message); the note says why
share groups or group types could not be read ("" when they were). A group sent once is
sent again only when its summary changes, so a steady cluster costs the parent nothing.
"""

from __future__ import annotations

import pickle
import struct
import sys
import time
from typing import IO, Any

from desktop.domain.group_events import diff_groups
from desktop.domain.groups import GroupSummary
from desktop.services.admin import ClusterAdmin
from desktop.services.groups import GroupsAdmin, SummaryCache
from desktop.services.kio_wire import WireHolder

FRAME = struct.Struct(">I")  # the length of the pickled frame that follows
FLAG = "--groups-helper"  # the frozen bundle runs this module when the flag comes first
# groups per frame: the parent decodes one frame per event-loop turn, and 100 groups with 18
# partitions each take it about 8 ms to unpickle (500 took 40 ms)
SEND_CHUNK = 100


def command() -> list[str]:
    """This module in a fresh interpreter, or the frozen executable with FLAG."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FLAG]
    return [sys.executable, "-m", "desktop.services.groups_process"]


def packed(obj: Any) -> bytes:
    """One frame: the length, then the pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(data)) + data


def read_frame(stream: IO[bytes]) -> Any:
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        raise EOFError
    (size,) = FRAME.unpack(head)
    return pickle.loads(stream.read(size))


class Refresher:
    """One cluster's groups, refreshed on request; remembers what the parent was sent."""

    def __init__(self, admin: ClusterAdmin, out: IO[bytes], wire: WireHolder | None = None) -> None:
        self.admin = admin
        self.wire = wire  # share groups and types, which confluent-kafka does not list
        self.out = out
        self.sent: dict[str, GroupSummary] = {}
        self.listed_ids: list[str] | None = None
        self.cache = SummaryCache()
        self.diffed: dict[str, GroupSummary] | None = None

    def send(self, kind: str, payload: Any) -> None:
        self.out.write(packed((kind, payload)))
        self.out.flush()

    def refresh(self, priority: tuple[str, ...], threshold: int) -> None:
        ga = GroupsAdmin(self.admin, self.wire)
        listed = ga.list_groups()
        ids = [g.group_id for g in listed]
        if ids != self.listed_ids:
            self.listed_ids = ids
            self.send("listed", listed)
        sent = self.sent

        def progress(stage: list[GroupSummary]) -> None:
            changed = [g for g in stage if sent.get(g.group_id) is not g]
            for g in changed:
                sent[g.group_id] = g
            # summaries only: the selected group's partitions come with its detail
            brief = [g.brief() for g in changed]
            for i in range(0, len(brief), SEND_CHUNK):
                self.send("stage", brief[i : i + SEND_CHUNK])

        done = ga.summaries(listed, priority, progress, sent, self.cache)
        now = time.time()
        groups = {g.group_id: g for g in done}
        events = [] if self.diffed is None else diff_groups(self.diffed, groups, now, threshold)
        self.diffed = groups
        self.sent = dict(groups)
        self.send("done", (events, now, ga.wire_note))


def serve(inp: IO[bytes], out: IO[bytes]) -> int:
    """Answer refresh requests until stdin closes (the parent exited or let go)."""
    try:
        profile, creds, timeout = read_frame(inp)
    except EOFError:
        return 0
    refresher = Refresher(
        ClusterAdmin(profile, creds, timeout, "topicscope-groups"),
        out,
        WireHolder(profile, creds, timeout),
    )
    try:
        while True:
            try:
                priority, threshold = read_frame(inp)
            except EOFError:
                return 0
            try:
                refresher.refresh(tuple(priority), int(threshold))
            except BrokenPipeError:
                raise
            except Exception as exc:  # every failure is a message for the screen, never an exit
                refresher.admin.reconnect()
                if refresher.wire is not None:
                    refresher.wire.drop()
                refresher.listed_ids = None  # the next answer starts from the whole list
                refresher.send("failed", str(exc) or type(exc).__name__)
    except BrokenPipeError:
        return 0  # the parent let go mid-answer (the screen closed): nobody to tell


def main() -> int:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never land inside the frame stream
    return serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    sys.exit(main())
