"""Support for the share-group GUI tests (no tests here): a share member (KIP-932) that joined,
acquired a topic's records and acknowledged them, on the built-in broker or Kafka."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from kio.schema.find_coordinator.v6.request import FindCoordinatorRequest
from kio.static.primitive import i8
from PySide6.QtCore import QTimer

from tests.gui.conftest import WAIT_MS
from tests.integration.share.conftest import topic_id
from tests.integration.share.wire import ShareWire, alter_group_configs

COORDINATOR_LOADING = {14, 15, 16}  # not yet loaded, not available, not the coordinator


def acquire_all(member: ShareWire, expected: dict[int, int]) -> dict[int, list[int]]:
    """Share-fetch until every partition's records are acquired (a broker may hand out one
    partition per fetch, and Kafka initialises share partitions in the background)."""
    got: dict[int, list[int]] = {p: [] for p in expected}
    deadline = time.monotonic() + WAIT_MS / 1000
    while any(len(got[p]) < n for p, n in expected.items()):
        assert time.monotonic() < deadline, f"records not acquired: {got}"
        response = member.fetch(tuple(expected), max_wait_ms=500)
        for p in expected:
            got[p] += member.got(response, p).offsets()
    return got


def join(member: ShareWire, topic: str) -> None:
    """Join, waiting while a freshly started Kafka still loads its group coordinator."""
    deadline = time.monotonic() + WAIT_MS / 1000
    # as every client does first: on Kafka this creates __consumer_offsets, the coordinator's log
    find = FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(member.group,))
    while (code := member.client.send(find).coordinators[0].error_code) in COORDINATOR_LOADING:
        assert time.monotonic() < deadline, f"no coordinator: {code!r}"
        time.sleep(0.2)  # the broker's own pace, not a wait on the app
    while (code := member.heartbeat((topic,)).error_code) in COORDINATOR_LOADING:
        assert time.monotonic() < deadline, f"the coordinator never came up: {code!r}"
        time.sleep(0.2)  # the broker's own pace, not a wait on the app
    member.join(topic)


@contextmanager
def share_member(
    bootstrap: str, topic: str, group: str, acks: Sequence[int], *, stay: bool = True
) -> Iterator[ShareWire]:
    """A member of share group `group` (reading from the earliest offset) that acquired the 3
    records on each of `topic`'s 2 partitions and acknowledged partition p's with `acks[p]`.
    Heartbeats keep it in the group however long the screen takes; unless `stay`, it leaves."""
    assert alter_group_configs(bootstrap, group, {"share.auto.offset.reset": "earliest"})[0] == 0
    member = ShareWire(bootstrap, group, topic_id(bootstrap, topic))
    beat = QTimer()
    beat.timeout.connect(lambda: member.heartbeat(None))
    try:
        join(member, topic)
        beat.start(2000)
        got = acquire_all(member, {0: 3, 1: 3})
        for p, ack in enumerate(acks):
            assert member.acknowledge(p, [(min(got[p]), max(got[p]), ack)]).error_code == 0
        if not stay:
            beat.stop()
            assert member.heartbeat(None, epoch=-1).error_code == 0  # leave the group
        yield member
    finally:
        beat.stop()
        member.close()
