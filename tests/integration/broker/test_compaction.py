"""Compacted topics through real clients: after the log cleaner runs, reading from the beginning
gives the latest value of every key at its original offset; tombstones go after
delete.retention.ms; a consumer reading during cleaning never misses a key's latest value."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from tests.broker_fixtures import BrokerFactory

from .clients import TIMEOUT_S, consumer, create_topic, produce_all, producer

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
FAST_CLEANER = {"log.cleaner.backoff.ms": "20", "log.retention.check.interval.ms": "100"}
COMPACTED = {
    "cleanup.policy": "compact",
    "segment.bytes": "4096",
    "segment.ms": "200",  # the active segment rolls soon, so everything becomes cleanable
    "min.cleanable.dirty.ratio": "0.01",
}


def keyed_input(
    seed: int, count: int, keys: int, tombstones: float = 0.05, prefix: str = "key"
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    items = []
    for i in range(count):
        key = f"{prefix}-{rng.randrange(keys):03d}".encode()
        value = None if rng.random() < tombstones else f"value-{i:05d}-".encode() * 4
        items.append({"key": key, "value": value, "partition": 0})
    return items


def produce_keyed(bootstrap: str, topic: str, items: list[dict[str, Any]]) -> dict[int, Any]:
    """Produce ``items`` spread over every codec; returns offset -> (key, value)."""
    by_offset: dict[int, Any] = {}
    chunk = len(items) // len(CODECS) + 1
    for n, codec in enumerate(CODECS):
        part = items[n * chunk : (n + 1) * chunk]
        if not part:
            continue
        prod = producer(bootstrap, **{"compression.type": codec, "linger.ms": 2})
        for msg in produce_all(prod, topic, part):
            by_offset[msg.offset()] = (msg.key(), msg.value())
    return by_offset


def read_from_start(bootstrap: str, topic: str) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every record up to the high watermark at the time of the call."""
    cons = consumer(bootstrap, **{"enable.partition.eof": True})
    tp = TopicPartition(topic, 0)
    try:
        _low, high = cons.get_watermark_offsets(tp, timeout=TIMEOUT_S, cached=False)
        cons.assign([TopicPartition(topic, 0, 0)])
        out: list[tuple[int, bytes | None, bytes | None]] = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            msg = cons.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.offset() >= high or (out and out[-1][0] >= high - 1):
                    break
                continue
            out.append((msg.offset(), msg.key(), msg.value()))
            if msg.offset() >= high - 1:
                break
        return out
    finally:
        cons.close()


def latest_by_key(entries: Any) -> dict[bytes, bytes | None]:
    result: dict[bytes, bytes | None] = {}
    for _offset, key, value in entries:
        result[key] = value
    return result


def wait_until_compacted(bootstrap: str, topic: str, most: int) -> list[Any]:
    """Read from the start until at most ``most`` records remain (bounded)."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        entries = read_from_start(bootstrap, topic)
        if len(entries) <= most or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


@pytest.mark.parametrize("in_memory", [False, True], ids=["disk", "memory"])
def test_compaction_keeps_the_latest_value_per_key_at_its_offset(
    builtin_broker_factory: BrokerFactory, in_memory: bool
) -> None:
    broker = builtin_broker_factory(FAST_CLEANER, in_memory=in_memory)
    bs = broker.bootstrap
    create_topic(bs, "table", config=COMPACTED)
    items = keyed_input(1, 3000, 60)
    produced = produce_keyed(bs, "table", items)
    expected = latest_by_key((o, k, v) for o, (k, v) in sorted(produced.items()))
    # once the last segment rolls, one record per key remains (tombstones included: they stay
    # for delete.retention.ms, a day by default)
    entries = wait_until_compacted(bs, "table", len(expected))
    assert len(entries) == len(expected)
    assert latest_by_key(entries) == expected
    for offset, key, value in entries:  # offsets never change
        assert produced[offset] == (key, value)
    # appends continue at the same end offset after compaction
    after = produce_all(producer(bs), "table", [{"key": b"key-000", "value": b"new"}])
    assert after[0].offset() == max(produced) + 1


def test_tombstones_disappear_after_delete_retention(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory(FAST_CLEANER)
    bs = broker.bootstrap
    create_topic(bs, "deletes", config={**COMPACTED, "delete.retention.ms": "300"})
    prod = producer(bs)
    produce_all(prod, "deletes", keyed_input(2, 400, 20, tombstones=0.0))
    produce_all(prod, "deletes", [{"key": b"key-001", "value": None, "partition": 0}])
    deadline = time.monotonic() + TIMEOUT_S
    seen_gone = False
    filler = 0
    while time.monotonic() < deadline:
        # more keyed data keeps the partition dirty so the cleaner comes back after the horizon
        filler_items = keyed_input(100 + filler, 60, 20, tombstones=0.0, prefix="other")
        produce_all(prod, "deletes", filler_items)
        filler += 1
        entries = read_from_start(bs, "deletes")
        if b"key-001" not in {key for _o, key, _v in entries}:
            seen_gone = True
            break
        time.sleep(0.2)
    assert seen_gone, "the tombstone was never removed"
    assert {key for _o, key, _v in entries} >= {b"key-000", b"key-002"}


def test_a_consumer_reading_during_cleaning_sees_every_latest_value(
    builtin_broker_factory: BrokerFactory,
) -> None:
    bs = builtin_broker_factory(FAST_CLEANER).bootstrap
    create_topic(bs, "busy", config={**COMPACTED, "segment.bytes": "2048"})
    items = keyed_input(3, 4000, 40, tombstones=0.0)
    produced = produce_keyed(bs, "busy", items)
    expected = latest_by_key((o, k, v) for o, (k, v) in sorted(produced.items()))
    failures: list[str] = []
    stop = threading.Event()

    def read_repeatedly() -> None:
        while not stop.is_set():
            got = latest_by_key(read_from_start(bs, "busy"))
            if got != expected:
                failures.append(f"{len(set(expected.items()) - set(got.items()))} keys missed")

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        assert len(wait_until_compacted(bs, "busy", len(expected))) == len(expected)
    finally:
        stop.set()
        reader.join(TIMEOUT_S)
    assert not failures
