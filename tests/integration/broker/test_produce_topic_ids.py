"""Produce v13 (KIP-516, Kafka 4.x) names each topic by its id: records reach the topic the id
names, the answer names it by id, an id no topic has (never created, or deleted) is answered
UNKNOWN_TOPIC_ID without spoiling the rest of the request, and a transactional batch joins its
transaction as under v12. Raw frames, the same body on the built-in broker and on real Kafka
4.3.1; and the Java 4.3.1 producer, which sends v13 when the broker offers it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from kio.schema.api_versions.v3 import request as av3
from kio.schema.errors import ErrorCode
from kio.schema.metadata.v12 import request as md12
from kio.schema.produce.v13 import request as p13

from embedded_broker.handlers import produce as produce_handler
from tests.broker_fixtures import RunningBroker
from tests.integration.broker.clients import admin, consume, create_topic
from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.integration.groups.wire import make, ms
from tests.integration.transactions.txn_clients import put_sentinels, read_to_sentinels
from tests.integration.txn_verify.raw_txn import (
    NOT_YET,
    coordinator_address,
    send,
    transactional_batch,
)
from tests.integration.txn_verify.raw_txn_v2 import end_txn, init_producer_v5
from tests.kafka.cli import KafkaCli
from tests.kafka.fixtures import KafkaSingle
from tests.unit.storage.batches import Rec, build_batch

PRODUCE = 0


def _topic_id(bootstrap: str, topic: str, partitions: int) -> uuid.UUID:
    """The topic's id once Metadata shows it with a leader for every partition."""

    def ask() -> uuid.UUID | None:
        got = send(
            bootstrap,
            make(
                md12.MetadataRequest,
                topics=(make(md12.MetadataRequestTopic, topic_id=None, name=topic),),
                allow_auto_topic_creation=False,
                include_topic_authorized_operations=False,
            ),
        )
        [found] = got.topics
        led = [p for p in found.partitions if p.leader_id >= 0]
        if found.error_code != ErrorCode.none or len(led) < partitions:
            return None
        return found.topic_id if found.topic_id and found.topic_id.int else None

    result: uuid.UUID = wait_for(ask, start_timeout_s(), f"the id of {topic}")
    return result


def _produce_v13(
    bootstrap: str,
    entries: Sequence[tuple[uuid.UUID, int, bytes]],
    transactional_id: str | None = None,
) -> list[tuple[uuid.UUID | None, int, ErrorCode, int]]:
    """One Produce v13 (acks=all) of ``entries`` (topic id, partition, records), each id its
    own topic entry; the answer as (topic id, partition, error, base offset)."""
    got = send(
        bootstrap,
        p13.ProduceRequest(
            transactional_id=transactional_id,
            acks=-1,
            timeout=ms(30_000),
            topic_data=tuple(
                p13.TopicProduceData(
                    topic_id=topic_id,
                    partition_data=(p13.PartitionProduceData(index=index, records=records),),
                )
                for topic_id, index, records in entries
            ),
        ),
    )
    return [
        (t.topic_id, int(p.index), ErrorCode(p.error_code), int(p.base_offset))
        for t in got.responses
        for p in t.partition_responses
    ]


def _plain(*values: bytes) -> bytes:
    return build_batch([Rec(None, v) for v in values], base_timestamp=time.time_ns() // 1_000_000)


def _produce_until_taken(bootstrap: str, topic_id: uuid.UUID, index: int, records: bytes) -> int:
    """Produce v13 to one partition, again while the answer is a "not yet" one (nothing was
    appended then); the base offset."""
    answers: list[ErrorCode] = []

    def ask() -> tuple[int] | None:
        [(_, _, code, base)] = _produce_v13(bootstrap, [(topic_id, index, records)])
        answers.append(code)
        if code in NOT_YET:
            return None
        assert code == ErrorCode.none, code
        return (base,)

    result: tuple[int] = wait_for(
        ask, start_timeout_s(), lambda: f"a Produce v13 taken (got {answers[-3:]})"
    )
    return result[0]


def _advertised_body(bootstrap: str) -> None:
    got = send(
        bootstrap, av3.ApiVersionsRequest(client_software_name="raw", client_software_version="1")
    )
    [key] = [k for k in got.api_keys if k.api_key == PRODUCE]
    assert key.max_version == 13


def _by_id_body(bootstrap: str) -> None:
    topic = f"p13-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 2)
    topic_id = _topic_id(bootstrap, topic, 2)
    assert _produce_until_taken(bootstrap, topic_id, 0, _plain(b"first")) == 0
    assert _produce_until_taken(bootstrap, topic_id, 1, _plain(b"other")) == 0

    # a known id's partitions are written and answered by id; an unknown id's are refused
    # UNKNOWN_TOPIC_ID (not UNKNOWN_TOPIC_OR_PARTITION) and spoil nothing else
    stranger = uuid.uuid4()
    answer = _produce_v13(
        bootstrap,
        [
            (topic_id, 0, _plain(b"second", b"third")),
            (stranger, 0, _plain(b"lost")),
            (topic_id, 1, _plain(b"other-2")),
        ],
    )
    assert sorted(answer, key=lambda a: (str(a[0]), a[1])) == sorted(
        [
            (topic_id, 0, ErrorCode.none, 1),
            (stranger, 0, ErrorCode.unknown_topic_id, -1),
            (topic_id, 1, ErrorCode.none, 1),
        ],
        key=lambda a: (str(a[0]), a[1]),
    )
    values = [m.value() for m in consume(bootstrap, topic, 3, partitions=[0])]
    assert values == [b"first", b"second", b"third"]

    # the id of a deleted topic names nothing any more
    admin_client = admin(bootstrap)
    for fut in admin_client.delete_topics([topic], operation_timeout=30).values():
        fut.result(timeout=60)
    seen: list[ErrorCode] = []

    def refused() -> bool:
        [(_, _, code, _)] = _produce_v13(bootstrap, [(topic_id, 0, _plain(b"late"))])
        seen.append(code)
        return code == ErrorCode.unknown_topic_id

    wait_for(refused, start_timeout_s(), lambda: f"UNKNOWN_TOPIC_ID (got {seen[-3:]})")


def _transactional_body(bootstrap: str) -> None:
    topic = f"p13t-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    topic_id = _topic_id(bootstrap, topic, 1)
    tid = f"p13t-{topic}"
    coordinator = coordinator_address(bootstrap, tid)
    pid, epoch = init_producer_v5(coordinator, tid)
    batch = transactional_batch(pid, epoch, 0, [b"in-txn"])
    answers: list[ErrorCode] = []

    def taken() -> bool:
        [(_, _, code, _)] = _produce_v13(bootstrap, [(topic_id, 0, batch)], tid)
        answers.append(code)
        if code in NOT_YET:
            return False
        assert code == ErrorCode.none, code
        return True

    wait_for(taken, start_timeout_s(), lambda: f"a transactional v13 batch (got {answers[-3:]})")
    # no AddPartitionsToTxn: the v13 batch added its partition, so the commit covers it
    assert end_txn(coordinator, tid, (pid, epoch), commit=True)[0] == ErrorCode.none
    put_sentinels(bootstrap, topic, 1)
    assert read_to_sentinels(bootstrap, topic, 1, "read_committed") == [b"in-txn"]


def test_produce_v13_is_advertised(builtin_broker: RunningBroker) -> None:
    _advertised_body(builtin_broker.bootstrap)


def test_produce_v13_by_topic_id(builtin_broker: RunningBroker) -> None:
    _by_id_body(builtin_broker.bootstrap)


def test_produce_v13_transactional(builtin_broker: RunningBroker) -> None:
    _transactional_body(builtin_broker.bootstrap)


@pytest.mark.realkafka
def test_produce_v13_is_advertised_kafka(kafka_single: KafkaSingle) -> None:
    _advertised_body(kafka_single.bootstrap)


@pytest.mark.realkafka
def test_produce_v13_by_topic_id_kafka(kafka_single: KafkaSingle) -> None:
    _by_id_body(kafka_single.bootstrap)


@pytest.mark.realkafka
def test_produce_v13_transactional_kafka(kafka_single: KafkaSingle) -> None:
    _transactional_body(kafka_single.bootstrap)


@pytest.mark.realkafka
def test_java_producer_sends_v13(
    builtin_broker: RunningBroker, kafka_cli: KafkaCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions: list[int] = []
    by_name = produce_handler.by_name

    def recording(state: Any, request: Any, version: int) -> Any:
        versions.append(version)
        return by_name(state, request, version)

    monkeypatch.setattr(produce_handler, "by_name", recording)
    bootstrap = builtin_broker.bootstrap
    topic = f"p13j-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    done = kafka_cli.run(
        "kafka-console-producer.sh",
        ["--topic", topic, "--bootstrap-server", bootstrap],
        input="one\ntwo\n",
        timeout=180,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert 13 in versions, versions
    assert [m.value() for m in consume(bootstrap, topic, 2)] == [b"one", b"two"]
