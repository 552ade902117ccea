"""share.auto.offset.reset=by_duration:<ISO-8601 duration>: a share group new to a partition
starts at the first record no older than the duration. The same body on the built-in broker and
on Kafka 4.3.1."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Producer

from tests.integration.groups import conftest as groups
from tests.integration.groups.clients import create_topic

from .conftest import DEADLINE_S, topic_id
from .test_share_start_offset_parity import _acquire, _join
from .wire import ShareWire, alter_group_configs, hold_longer

INVALID_CONFIG = 40
HOUR_MS = 3_600_000
# the fixture: each test runs on a fresh built-in broker and on the real Kafka node
bootstrap = groups.bootstrap


def _produce_at(bootstrap: str, topic: str, timestamps: list[int]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for n, timestamp in enumerate(timestamps):
        producer.produce(topic, value=b"v%d" % n, partition=0, timestamp=timestamp)
        assert producer.flush(DEADLINE_S) == 0


def test_a_group_starts_at_the_first_record_no_older_than_the_duration(bootstrap: str) -> None:
    topic, group = f"dur-{uuid.uuid4().hex[:8]}", f"g-dur-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    now = int(time.time() * 1000)
    # three records two hours old, two just written
    _produce_at(bootstrap, topic, [now - 2 * HOUR_MS] * 3 + [now, now])
    assert alter_group_configs(
        bootstrap, group, {"share.auto.offset.reset": "by_duration:PT1H"}
    ) == (0, None)
    hold_longer(bootstrap, group)
    member = ShareWire(bootstrap, group, topic_id(bootstrap, topic))
    try:
        _join(member, topic)
        assert _acquire(member, 2) == [3, 4]
    finally:
        member.close()


@pytest.mark.parametrize("value", ["by_duration:1h", "by_duration:-PT1H", "by_duration:PT", "soon"])
def test_a_bad_reset_setting_is_refused(bootstrap: str, value: str) -> None:
    group = f"g-dur-{uuid.uuid4().hex[:8]}"
    code, message = alter_group_configs(bootstrap, group, {"share.auto.offset.reset": value})
    assert code == INVALID_CONFIG, message
