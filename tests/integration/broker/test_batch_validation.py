"""Malformed record batches over raw TCP: Kafka's error code (and KIP-467 record errors), nothing
appended, the connection kept, and a real consumer still reads the partition to its end."""

from __future__ import annotations

import datetime
import importlib
import socket
import struct
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, TopicPartition
from kio.schema.api_versions.v3 import request as av3
from kio.schema.errors import ErrorCode
from kio.serial import entity_reader

from embedded_broker.protocol.codec import RequestHeader, encode_request
from tests.broker_fixtures import RunningBroker
from tests.unit.protocol.forged import CASES, ONE, TWO, Case, forge, good, gzip_bomb, zstd_rle_bomb

from .clients import TIMEOUT_S, consumer, create_topic, producer

MIB = 1024 * 1024


class RawProducer:
    """One socket; Produce requests of any version built with kio, responses decoded with kio."""

    def __init__(self, broker: RunningBroker) -> None:
        self.sock = socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def _send(self, api_key: int, version: int, request: Any) -> int:
        self.correlation += 1
        header = RequestHeader(api_key, version, self.correlation, "batch-validation-test")
        self.sock.sendall(encode_request(header, request))
        return self.correlation

    def _receive(self) -> bytes:
        size = struct.unpack(">i", self._exact(4))[0]
        return self._exact(size)

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "the broker closed the connection"
            buf += chunk
        return bytes(buf)

    def produce(
        self,
        topic: str,
        records: bytes,
        *,
        version: int = 9,
        acks: int = -1,
        transactional_id: str | None = None,
    ) -> Any:
        return self.produce_partitions(
            topic, [records], version=version, acks=acks, transactional_id=transactional_id
        )[0]

    def produce_partitions(
        self,
        topic: str,
        records: list[bytes],
        *,
        version: int = 9,
        acks: int = -1,
        transactional_id: str | None = None,
    ) -> list[Any]:
        """Produce ``records[i]`` to partition i; the partition responses in order."""
        req = importlib.import_module(f"kio.schema.produce.v{version}.request")
        resp = importlib.import_module(f"kio.schema.produce.v{version}.response")
        request = req.ProduceRequest(
            transactional_id=transactional_id,
            acks=acks,
            timeout=datetime.timedelta(seconds=30),
            topic_data=(
                req.TopicProduceData(
                    name=topic,
                    partition_data=tuple(
                        req.PartitionProduceData(index=i, records=data)
                        for i, data in enumerate(records)
                    ),
                ),
            ),
        )
        cid = self._send(0, version, request)
        data = self._receive()
        assert struct.unpack(">i", data[:4])[0] == cid
        header_size = 5 if version >= 9 else 4  # flexible response headers carry tagged fields
        response, _ = entity_reader(resp.ProduceResponse)(data, header_size)
        return list(response.responses[0].partition_responses)

    def api_versions_answered(self) -> bool:
        cid = self._send(
            18, 3, av3.ApiVersionsRequest(client_software_name="t", client_software_version="1")
        )
        data = self._receive()
        return bool(struct.unpack(">i", data[:4])[0] == cid)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    """One broker for the whole file: every case uses a topic of its own."""
    running = RunningBroker(tmp_path_factory.mktemp("batch-validation"), {}, in_memory=False)
    yield running
    running.stop()


def read_to_end(broker: RunningBroker, topic: str) -> list[bytes]:
    """Every record of partition 0 up to the end, through confluent-kafka; fails if it blocks."""
    cons = consumer(broker.bootstrap, **{"enable.partition.eof": True})
    try:
        cons.assign([TopicPartition(topic, 0, 0)])
        values: list[bytes] = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            msg = cons.poll(0.5)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error
                return values
            values.append(bytes(msg.value() or b""))
        raise AssertionError(f"no end of partition after {values!r}")
    finally:
        cons.close()


def end_offset(broker: RunningBroker, topic: str) -> int:
    cons = consumer(broker.bootstrap)
    try:
        return int(cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)[1])
    finally:
        cons.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_invalid_batch_is_refused_with_kafkas_error(broker: RunningBroker, case: Case) -> None:
    topic = f"bad-{case.id}"
    create_topic(broker.bootstrap, topic, config=case.topic_config)
    client = RawProducer(broker)
    try:
        before = client.produce(topic, good(TWO, base_timestamp=int(time.time() * 1000)))
        assert before.error_code == ErrorCode.none
        result = client.produce(
            topic,
            case.build(int(time.time() * 1000)),
            version=case.version,
            acks=case.acks,
            transactional_id=case.transactional_id,
        )
        assert result.error_code == case.code, result
        assert int(result.base_offset) == -1
        if case.version >= 8:
            assert tuple(e.batch_index for e in result.record_errors) == case.record_errors
            if case.record_errors:
                assert result.error_message
                assert all(e.batch_index_error_message for e in result.record_errors)
        assert client.api_versions_answered()  # the connection is still open
    finally:
        client.close()
    assert end_offset(broker, topic) == 2
    assert read_to_end(broker, topic) == [b"v1", b"v2"]


@pytest.mark.parametrize(
    "records",
    [
        forge(b"\x1f\x8b\x08\x00 not deflate at all", count=1, attributes=1),
        forge(
            b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x09junk",
            count=1,
            attributes=2,
        ),
        forge(b"\x04\x22\x4d\x18 truncated lz4 frame", count=1, attributes=3),
        forge(b"\x00\x01\x02", count=1),
    ],
    ids=["gzip", "snappy-xerial", "lz4", "uncompressed"],
)
def test_compacted_topic_answers_an_unreadable_batch_and_keeps_the_connection(
    broker: RunningBroker, records: bytes
) -> None:
    topic = f"compacted-unreadable-{records[21:23].hex()}-{len(records)}"
    create_topic(broker.bootstrap, topic, config={"cleanup.policy": "compact"})
    client = RawProducer(broker)
    try:
        result = client.produce(topic, records)
        compressed = records[22] & 0x07 != 0
        expected = ErrorCode.corrupt_message if compressed else ErrorCode.invalid_record
        assert result.error_code == expected, result
        assert client.api_versions_answered()
        keyed = client.produce(topic, good(ONE))
        assert keyed.error_code == ErrorCode.none
    finally:
        client.close()
    assert end_offset(broker, topic) == 1


@pytest.mark.parametrize(
    ("codec", "payload"),
    [(4, lambda: zstd_rle_bomb(4 * 1024 * MIB)), (1, lambda: gzip_bomb(15))],
    ids=["zstd-4GiB", "gzip-240MiB"],
)
def test_decompression_bomb_is_refused_in_bounded_memory(
    broker: RunningBroker, codec: int, payload: Any
) -> None:
    topic = f"bomb-{codec}"
    # max.message.bytes 256 KiB: the broker inflates at most 16 MiB of records for this topic.
    create_topic(broker.bootstrap, topic, config={"max.message.bytes": "262144"})
    bomb = forge(payload(), count=1, attributes=codec)
    client = RawProducer(broker)
    tracemalloc.start()
    try:
        result = client.produce(topic, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    assert result.error_code == ErrorCode.message_too_large, result
    # Stated bound for the whole process (broker thread and test): 32 MiB, for GiBs of bomb.
    assert peak < 32 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert end_offset(broker, topic) == 0


def test_zstd_is_accepted_from_produce_v7(broker: RunningBroker) -> None:
    create_topic(broker.bootstrap, "zstd-v7")
    client = RawProducer(broker)
    try:
        assert client.produce("zstd-v7", good(TWO, codec=4), version=7).error_code == 0
    finally:
        client.close()
    assert read_to_end(broker, "zstd-v7") == [b"v1", b"v2"]


def test_acks_two_fails_every_partition_of_the_request(broker: RunningBroker) -> None:
    create_topic(broker.bootstrap, "acks-two", partitions=3)
    client = RawProducer(broker)
    try:
        results = client.produce_partitions("acks-two", [good(ONE)] * 3, acks=2)
    finally:
        client.close()
    assert [r.error_code for r in results] == [ErrorCode.invalid_required_acks] * 3


DIFFERENT = KafkaError._INVALID_DIFFERENT_RECORD


@pytest.mark.parametrize(
    ("config", "items", "expected"),
    [
        (
            {"cleanup.policy": "compact"},
            [{"key": b"a"}, {"key": None}, {"key": b"c"}, {"key": None}],
            [DIFFERENT, KafkaError.INVALID_RECORD, DIFFERENT, KafkaError.INVALID_RECORD],
        ),
        # librdkafka applies record errors to INVALID_RECORD only; for INVALID_TIMESTAMP it
        # fails the whole batch with the broker's error.
        (
            {"message.timestamp.before.max.ms": "3600000"},
            [{"key": b"a"}, {"key": b"b", "timestamp": 1_000}, {"key": b"c"}],
            [KafkaError.INVALID_TIMESTAMP] * 3,
        ),
    ],
    ids=["null-keys-on-compacted-topic", "timestamp-too-old"],
)
def test_librdkafka_reports_the_failing_records(
    broker: RunningBroker, config: dict[str, str], items: list[dict[str, Any]], expected: list[int]
) -> None:
    """KIP-467: the records at fault get the broker's error, their batch mates a local one."""
    topic = f"kip467-{expected[-1]}"
    create_topic(broker.bootstrap, topic, config=config)
    prod = producer(broker.bootstrap, **{"linger.ms": 200})
    outcome: dict[int, int] = {}

    def on_delivery(err: Any, msg: Any) -> None:
        outcome[int(msg.value().decode())] = err.code() if err is not None else 0

    for n, item in enumerate(items):
        prod.produce(topic, value=str(n).encode(), on_delivery=on_delivery, **item)
    assert prod.flush(TIMEOUT_S) == 0
    assert [outcome[n] for n in range(len(items))] == expected
    assert end_offset(broker, topic) == 0
