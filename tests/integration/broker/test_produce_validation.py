"""Produce validation over raw TCP: sequences, duplicates, CRC, compacted null keys, acks=0."""

from __future__ import annotations

import datetime
import socket
import struct
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from kio.schema.api_versions.v3 import request as av3
from kio.schema.errors import ErrorCode
from kio.schema.init_producer_id.v4 import request as ipid_req
from kio.schema.init_producer_id.v4 import response as ipid_resp
from kio.schema.produce.v9 import request as prod_req
from kio.schema.produce.v9 import response as prod_resp
from kio.serial import entity_reader

from embedded_broker.protocol.codec import RequestHeader, encode_request
from tests.broker_fixtures import RunningBroker

from .clients import TIMEOUT_S, consumer, create_topic


class RawClient:
    def __init__(self, broker: RunningBroker) -> None:
        self.sock = socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, api_key: int, version: int, request: Any) -> int:
        self.correlation += 1
        header = RequestHeader(api_key, version, self.correlation, "raw-test")
        self.sock.sendall(encode_request(header, request))
        return self.correlation

    def receive(self) -> tuple[int, bytes]:
        size = struct.unpack(">i", self._exact(4))[0]
        data = self._exact(size)
        return struct.unpack(">i", data[:4])[0], data

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "connection closed"
            buf += chunk
        return buf

    def produce(self, topic: str, records: bytes, acks: int = -1) -> Any:
        self.send(0, 9, _produce_request(topic, records, acks))
        _, data = self.receive()
        response, _ = entity_reader(prod_resp.ProduceResponse)(data, 5)
        return response.responses[0].partition_responses[0]


def _produce_request(topic: str, records: bytes, acks: int) -> Any:
    return prod_req.ProduceRequest(
        transactional_id=None,
        acks=acks,  # type: ignore[arg-type]
        timeout=datetime.timedelta(seconds=30),  # type: ignore[arg-type]
        topic_data=(
            prod_req.TopicProduceData(
                name=topic,  # type: ignore[arg-type]
                partition_data=(
                    prod_req.PartitionProduceData(index=0, records=records),  # type: ignore[arg-type]
                ),
            ),
        ),
    )


@pytest.fixture(autouse=True)
def _quiet_kafka_python() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def batch(
    values: list[tuple[bytes | None, bytes]],
    producer_id: int = -1,
    epoch: int = -1,
    sequence: int = -1,
) -> bytes:
    # kafka-python's builder is an independent implementation of the v2 batch format.
    from kafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=False,
        producer_id=producer_id,
        producer_epoch=epoch,
        base_sequence=sequence,
        batch_size=1 << 20,
    )
    for offset, (key, value) in enumerate(values):
        builder.append(offset, timestamp=1_700_000_000_000, key=key, value=value, headers=[])
    return bytes(builder.build())


def _high_watermark(broker: RunningBroker, topic: str) -> int:
    cons = consumer(broker.bootstrap)
    try:
        return int(cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)[1])
    finally:
        cons.close()


def _init_producer(client: RawClient) -> tuple[int, int]:
    client.send(
        22,
        4,
        ipid_req.InitProducerIdRequest(
            transactional_id=None,
            transaction_timeout=datetime.timedelta(seconds=60),  # type: ignore[arg-type]
        ),
    )
    _, data = client.receive()
    response, _ = entity_reader(ipid_resp.InitProducerIdResponse)(data, 5)
    assert response.error_code == ErrorCode.none
    return int(response.producer_id), int(response.producer_epoch)


def test_idempotent_duplicates_and_sequence_gaps(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "seq")
    client = RawClient(builtin_broker)
    try:
        pid, epoch = _init_producer(client)
        assert pid >= 0 and epoch == 0
        first = client.produce("seq", batch([(b"k", b"a"), (b"k", b"b")], pid, epoch, 0))
        assert first.error_code == ErrorCode.none and first.base_offset == 0
        second = client.produce("seq", batch([(b"k", b"c")], pid, epoch, 2))
        assert second.error_code == ErrorCode.none and second.base_offset == 2
        # A retried batch is acknowledged with its original offset and not stored again.
        again = client.produce("seq", batch([(b"k", b"a"), (b"k", b"b")], pid, epoch, 0))
        assert again.error_code == ErrorCode.none and again.base_offset == 0
        assert _high_watermark(builtin_broker, "seq") == 3
        gap = client.produce("seq", batch([(b"k", b"z")], pid, epoch, 7))
        assert gap.error_code == ErrorCode.out_of_order_sequence_number
        old_epoch = client.produce("seq", batch([(b"k", b"z")], pid, epoch - 1, 3))
        assert old_epoch.error_code == ErrorCode.invalid_producer_epoch
        nxt = client.produce("seq", batch([(b"k", b"d")], pid, epoch, 3))
        assert nxt.error_code == ErrorCode.none and nxt.base_offset == 3
    finally:
        client.close()


def test_bad_crc_is_corrupt_message(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "crc")
    client = RawClient(builtin_broker)
    try:
        good = bytearray(batch([(b"k", b"value")]))
        good[-1] ^= 0xFF
        result = client.produce("crc", bytes(good))
        assert result.error_code == ErrorCode.corrupt_message
        assert _high_watermark(builtin_broker, "crc") == 0
    finally:
        client.close()


def test_null_key_on_compacted_topic_is_invalid_record(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "compacted", config={"cleanup.policy": "compact"})
    client = RawClient(builtin_broker)
    try:
        result = client.produce("compacted", batch([(None, b"no key")]))
        assert result.error_code == ErrorCode.invalid_record
        keyed = client.produce("compacted", batch([(b"key", b"v")]))
        assert keyed.error_code == ErrorCode.none
    finally:
        client.close()


def test_unknown_partition(builtin_broker: RunningBroker) -> None:
    client = RawClient(builtin_broker)
    try:
        result = client.produce("never-created-" + "x" * 10, batch([(b"k", b"v")]))
        assert result.error_code == ErrorCode.unknown_topic_or_partition
    finally:
        client.close()


def test_acks_zero_sends_no_response(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "fire")
    client = RawClient(builtin_broker)
    try:
        client.send(0, 9, _produce_request("fire", batch([(b"k", b"v")]), acks=0))
        cid = client.send(
            18, 3, av3.ApiVersionsRequest(client_software_name="t", client_software_version="1")
        )
        got, _ = client.receive()
        assert got == cid
        assert _high_watermark(builtin_broker, "fire") == 1
    finally:
        client.close()
