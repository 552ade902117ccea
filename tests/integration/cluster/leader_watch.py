"""Watch each live broker's own Metadata answers after a broker dies: when each first names
new leaders for every partition the dead broker led (raw Metadata to that broker alone, as a
client's refresh asks it, every 10 ms)."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from datetime import datetime
from pathlib import Path

from kio.schema.metadata.v12 import request as md

from tests.integration.groups.wire import WireClient

POLL_S = 0.01
WATCH_S = 120.0


class LeaderWatch:
    """``seen[broker]``: the wall time broker's Metadata first showed ``topic`` with no
    partition led by ``dead`` and ``dead`` gone from its brokers."""

    def __init__(self, addresses: dict[int, str], topic: str, dead: int) -> None:
        self.topic = topic
        self.dead = dead
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._watch, args=(b, a), daemon=True)
            for b, a in addresses.items()
        ]
        for thread in self._threads:
            thread.start()

    def _moved(self, client: WireClient) -> bool:
        request = md.MetadataRequest(
            topics=(md.MetadataRequestTopic(topic_id=None, name=self.topic),),
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )
        response = client.send(request)
        if self.dead in {int(b.node_id) for b in response.brokers}:
            return False
        parts = [p for t in response.topics if t.name == self.topic for p in t.partitions]
        return bool(parts) and all(int(p.leader_id) not in (self.dead, -1) for p in parts)

    def _watch(self, broker: int, address: str) -> None:
        client: WireClient | None = None
        deadline = time.monotonic() + WATCH_S  # a failed test's watch ends on its own
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                client = client or WireClient(address)
                if self._moved(client):
                    self.seen[broker] = time.time()
                    break
            except (OSError, ConnectionError):  # busy or restarting: ask again
                if client is not None:
                    client.close()
                client = None
            time.sleep(POLL_S)
        if client is not None:
            client.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def session_expiry(log_path: Path, broker: int, session_ms: int) -> float | None:
    """The wall time ``broker``'s session ran out, from the controller's log of its fencing
    (the line's time less how far past the session timeout the silence had gone)."""
    pattern = re.compile(
        rf"^(\S+ \S+) WARNING \S+: Broker {broker} sent no heartbeat for (\d+) ms; fencing it",
        re.MULTILINE,
    )
    with contextlib.suppress(OSError):
        match = pattern.search(log_path.read_text(errors="replace"))
        if match is not None:
            logged = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            return logged - (int(match.group(2)) - session_ms) / 1000
    return None
