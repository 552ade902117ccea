"""Resetting a group's offsets to a time: each partition goes to its first record at or after
that time, or to its end when none is that new, on both brokers (what `kafka-consumer-groups
--reset-offsets --to-datetime` does)."""

from __future__ import annotations

from confluent_kafka import Producer

from desktop.domain.groups import ResetMode, ResetRequest
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.admin import ClusterAdmin
from desktop.services.groups import GroupsAdmin
from tests.gui.test_groups_support import commit_offsets, create_topic, unique

BASE_MS = 1_700_000_000_000  # record times the test chooses (CreateTime), far in the past


def produce_at(bootstrap: str, topic: str, times: dict[int, list[int]]) -> None:
    """Each partition's records, with CreateTime BASE_MS + the given seconds."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition, seconds in times.items():
        for s in seconds:
            producer.produce(topic, b"v", partition=partition, timestamp=BASE_MS + s * 1000)
    assert producer.flush(30) == 0


def test_reset_to_a_time_plans_each_partitions_first_record_at_or_after_it(
    bootstrap: str,
) -> None:
    topic, group = unique("reset-time"), unique("g-reset-time")
    create_topic(bootstrap, topic, 3)
    produce_at(bootstrap, topic, {0: [10, 20, 30, 40], 1: [15, 25], 2: [5]})
    commit_offsets(bootstrap, group, {(topic, 0): 4, (topic, 1): 2, (topic, 2): 1})
    admin = ClusterAdmin(ClusterProfile("t", bootstrap), Credentials(), 10.0, "t")
    plan = GroupsAdmin(admin).plan_reset(
        ResetRequest(group, topic, (), ResetMode.TIMESTAMP, BASE_MS + 20_000)
    )
    new = {row.partition: row.new for row in plan.rows}
    current = {row.partition: row.current for row in plan.rows}
    # partition 0: the record at 20 s is offset 1; partition 1: the first at or after 20 s is
    # the one at 25 s (offset 1); partition 2 has nothing that new: its end (offset 1)
    assert new == {0: 1, 1: 1, 2: 1}
    assert current == {0: 4, 1: 2, 2: 1}
    assert not any(row.refused for row in plan.rows)
