"""Damage inside an older segment costs only the damaged records; consumers read past the gap."""

from __future__ import annotations

import os
from pathlib import Path

from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.storage.log import CLEAN_SHUTDOWN_FILE, RECOVERY_POINT_FILE
from tests.broker_fixtures import BrokerFactory

from .clients import consume, create_topic, produce_all, producer

TOPIC = "damaged-old"
RECORDS = 2000


def test_damage_in_an_older_segment_loses_only_its_records(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory()
    create_topic(broker.bootstrap, TOPIC, 1, {"segment.bytes": "20000"})
    values = [b"record-%04d-" % i + b"x" * 80 for i in range(RECORDS)]
    produce_all(
        producer(broker.bootstrap, **{"batch.num.messages": 10}),
        TOPIC,
        [{"value": v} for v in values],
    )
    broker.stop()

    assert broker.data_dir is not None
    directory = broker.data_dir / f"{TOPIC}-0"
    segments = sorted(directory.glob("*.log"))
    assert len(segments) >= 8
    victim = segments[2]
    data = bytearray(victim.read_bytes())
    batches = list(iter_batches(data))
    start = batches[len(batches) // 2].position + 40
    data[start : start + 100] = os.urandom(100)
    victim.write_bytes(data)
    damaged = [b for b in batches if b.position < start + 100 and b.end > start]
    lost = {o for b in damaged for o in range(b.base_offset, b.last_offset + 1)}
    assert 1 <= len(lost) <= 20
    # as if killed before the data was flushed: the segment is checked at the next start
    (directory / CLEAN_SHUTDOWN_FILE).unlink()
    (directory / RECOVERY_POINT_FILE).unlink(missing_ok=True)

    broker.restart()
    got = consume(broker.bootstrap, TOPIC, RECORDS - len(lost))
    assert [m.value() for m in got] == [v for i, v in enumerate(values) if i not in lost]
    assert [m.offset() for m in got] == [i for i in range(RECORDS) if i not in lost]
    assert sorted(directory.glob("*.log")) == segments
    assert Path(f"{victim}.damaged-1").exists()
    # a consumer that starts inside the gap continues at the next offset that exists
    (first,) = consume(broker.bootstrap, TOPIC, 1, offset=min(lost))
    assert first.offset() == max(lost) + 1
