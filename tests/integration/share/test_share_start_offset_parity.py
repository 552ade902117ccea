"""The start offset and lag a share group reports (DescribeShareGroupOffsets) after its members
acknowledge or release records: the same body on the built-in broker and on Kafka 4.3.1.

Kafka reports what its share coordinator last wrote. A write carries the share-partition start
offset as it stood before the change it records (the start offset moves only once the write is
done), with the records finished past it: so acknowledging records 0-2 reports start 0 with
those 3 finished (lag 0), and the start offset shows 3 only at the next write."""

from __future__ import annotations

import time
import uuid

from kio.schema.find_coordinator.v6.request import FindCoordinatorRequest
from kio.static.primitive import i8

from tests.integration.groups import conftest as groups
from tests.integration.groups.clients import create_topic

from .conftest import DEADLINE_S, produce, topic_id
from .wire import ACCEPT, RELEASE, ShareWire, alter_group_configs, start_offsets

NOT_READY = {14, 15, 16}  # coordinator loading, not available, not the coordinator
# the fixture: each test runs on a fresh built-in broker and on the real Kafka node
bootstrap = groups.bootstrap


def _join(member: ShareWire, topic: str) -> None:
    """Join, waiting while a freshly started Kafka still loads its group coordinator."""
    deadline = time.monotonic() + DEADLINE_S
    find = FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(member.group,))
    while (code := member.client.send(find).coordinators[0].error_code) in NOT_READY:
        assert time.monotonic() < deadline, f"no coordinator: {code!r}"
        time.sleep(0.2)  # the broker's own pace
    while (code := member.heartbeat((topic,)).error_code) in NOT_READY:
        assert time.monotonic() < deadline, f"the coordinator never came up: {code!r}"
        time.sleep(0.2)  # the broker's own pace
    member.join(topic)


def _acquire(member: ShareWire, count: int) -> list[int]:
    """Share-fetch until ``count`` records are acquired (Kafka sets a share-partition up in the
    background, so the first fetches may return nothing)."""
    got: list[int] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < count:
        assert time.monotonic() < deadline, f"records not acquired: {got}"
        got += member.got(member.fetch((0,), max_wait_ms=500)).offsets()
    return got


def _reports(bootstrap: str, group: str, topic: str, want: tuple[int, int]) -> tuple[int, int]:
    """The group's (start offset, lag) of partition 0 once it is ``want``, or the last one seen
    when the deadline passes."""
    deadline = time.monotonic() + DEADLINE_S
    while (found := start_offsets(bootstrap, group, topic).get(0)) != want:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)  # the broker's own pace: Kafka answers the acknowledgement first
    return found if found is not None else (-1, -1)


def test_the_start_offset_reported_is_the_one_written_before_the_acknowledgement(
    bootstrap: str,
) -> None:
    topic, group = f"parity-{uuid.uuid4().hex[:8]}", f"g-parity-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    assert alter_group_configs(bootstrap, group, {"share.auto.offset.reset": "earliest"})[0] == 0
    produce(bootstrap, topic, 3)
    member = ShareWire(bootstrap, group, topic_id(bootstrap, topic))
    try:
        _join(member, topic)
        assert _acquire(member, 3) == [0, 1, 2]
        assert member.acknowledge(0, [(0, 2, ACCEPT)]).error_code == 0
        # written with the start offset it had: 0, the 3 records finished past it
        assert _reports(bootstrap, group, topic, (0, 0)) == (0, 0)

        produce(bootstrap, topic, 3)
        assert _acquire(member, 3) == [3, 4, 5]
        assert member.acknowledge(0, [(3, 5, ACCEPT)]).error_code == 0
        # the next write carries the start offset the first one moved to
        assert _reports(bootstrap, group, topic, (3, 0)) == (3, 0)

        produce(bootstrap, topic, 2)
        assert _acquire(member, 2) == [6, 7]
        assert member.acknowledge(0, [(6, 7, RELEASE)]).error_code == 0
        # released records wait again: start 6, both of them still to deliver
        assert _reports(bootstrap, group, topic, (6, 2)) == (6, 2)
    finally:
        member.close()
