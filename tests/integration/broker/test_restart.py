"""Durability: topics, configs and data survive a clean restart; kill -9 loses no acked message."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import ConfigResource, ResourceType

from tests.broker_fixtures import RunningBroker

from .broker_process import free_port, start_broker_process
from .clients import TIMEOUT_S, admin, consume, consumer, create_topic, produce_all, producer


def test_clean_restart_keeps_topics_configs_and_data(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "durable", partitions=3, config={"retention.ms": "86400000"})
    items = [
        {"key": str(i).encode(), "value": os.urandom(100), "partition": i % 3} for i in range(300)
    ]
    produce_all(producer(bs, **{"compression.type": "zstd"}), "durable", items)
    md_before = admin(bs).list_topics(timeout=TIMEOUT_S)
    cluster_before = md_before.cluster_id
    builtin_broker.restart()
    assert builtin_broker.bootstrap == bs
    client = admin(bs)
    md = client.list_topics(timeout=TIMEOUT_S)
    assert md.cluster_id == cluster_before
    assert len(md.topics["durable"].partitions) == 3
    res = ConfigResource(ResourceType.TOPIC, "durable")
    configs = client.describe_configs([res])[res].result(timeout=TIMEOUT_S)
    assert configs["retention.ms"].value == "86400000"
    got = consume(bs, "durable", 300, partitions=[0, 1, 2])
    expected = {(it["key"], it["value"]) for it in items}
    assert {(m.key(), m.value()) for m in got} == expected
    # Appends continue after the recovered end offsets.
    delivered = produce_all(producer(bs), "durable", [{"value": b"after", "partition": 0}])
    assert delivered[0].offset() == 100


def test_kill_9_during_acks_all_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    proc = start_broker_process(data_dir, port)
    bs = f"127.0.0.1:{port}"
    acked: list[bytes] = []
    try:
        create_topic(bs, "crash", partitions=2)
        prod = Producer(
            {
                "bootstrap.servers": bs,
                "acks": "all",
                "linger.ms": 2,
                "message.timeout.ms": 5000,
                "retries": 0,
                "enable.idempotence": False,
            }
        )

        def on_delivery(err: object, msg: object) -> None:
            if err is None:
                acked.append(msg.value())  # type: ignore[attr-defined]

        i = 0
        deadline = time.monotonic() + 60
        while len(acked) < 3000 and time.monotonic() < deadline:
            prod.produce("crash", value=f"m-{i:07d}".encode(), on_delivery=on_delivery)
            i += 1
            prod.poll(0)
            if i % 500 == 0:
                prod.poll(0.05)
        assert len(acked) >= 3000
        # Keep producing while the broker dies.
        for _ in range(2000):
            prod.produce("crash", value=f"m-{i:07d}".encode(), on_delivery=on_delivery)
            i += 1
        prod.poll(0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=TIMEOUT_S)
        prod.flush(10)
        acked_set = set(acked)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proc = start_broker_process(data_dir, port)
    try:
        cons = consumer(bs)
        try:
            ends = [
                cons.get_watermark_offsets(TopicPartition("crash", p), timeout=TIMEOUT_S)[1]
                for p in (0, 1)
            ]
        finally:
            cons.close()
        stored = consume(bs, "crash", sum(ends), partitions=[0, 1])
        values = {m.value() for m in stored}
        missing = acked_set - values
        assert not missing, f"{len(missing)} acknowledged messages lost"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT_S) == 0
