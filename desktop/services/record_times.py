"""The timestamp of the first record a consumer can read at or after an offset (a group's time
lag), answered at once where no such record exists yet (a transaction marker, aborted data)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from desktop.services.admin import ClusterAdmin
from desktop.services.connection import client_config

Spot = tuple[str, int, int]  # topic, partition, offset
PEEK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class FirstRecords:
    """What a peek found at each spot."""

    times: dict[Spot, float] = field(default_factory=dict)  # seconds since the epoch
    # nothing a consumer can read between the spot and the partition's end: a control record
    # (a transaction marker has no timestamp a user could see) or aborted data sits there
    none_left: set[Spot] = field(default_factory=set)


def peek_config(admin: ClusterAdmin) -> dict[str, Any]:
    conf = client_config(admin.profile, admin.creds)
    conf.update(
        {
            "group.id": "topicscope-peek",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100,
            # the end of a partition is news: reached before any record, none is left to read
            "enable.partition.eof": True,
            "isolation.level": "read_committed",  # what the group's consumers see
        }
    )
    return conf


def first_records(
    conf: dict[str, Any], spots: Sequence[Spot], timeout_s: float = PEEK_TIMEOUT_S
) -> FirstRecords:
    """A short-lived consumer assigned at the spots (no group join, no commit) reads the first
    record at or after each; an offset already gone from the log reads from the log start.
    Spots neither found nor at the end within `timeout_s` are in neither set."""
    found = FirstRecords()
    want = {(t, p): off for t, p, off in spots}
    if not want:
        return found
    consumer = Consumer(conf)
    try:
        consumer.assign([TopicPartition(t, p, off) for (t, p), off in want.items()])
        deadline = time.monotonic() + timeout_s
        while want and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=100, timeout=0.3):
                key = (msg.topic(), msg.partition())
                if key not in want:
                    continue
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        found.none_left.add((key[0], key[1], want.pop(key)))
                    continue
                _kind, ts = msg.timestamp()
                if ts > 0:
                    found.times[(key[0], key[1], want.pop(key))] = ts / 1000.0
    finally:
        consumer.close()
    return found
