"""WriteTxnMarkers v2 (KIP-1228, Kafka 4.x): each marker names its transaction version. A
transactions-v2 coordinator always bumps the producer epoch before writing the markers, so the
partition leader takes a TV2 marker only with an epoch above the one it last saw (a marker of
the open transaction's own epoch is a late one from the transaction before), and a retry of the
marker that already ended it (same epoch, nothing open) is taken again, as Kafka 4.3.1's
ProducerAppendInfo.checkProducerEpoch. Raw frames, as a coordinator sends them; the same body
on the built-in broker and on real Kafka 4.3.1."""

from __future__ import annotations

import uuid

import pytest
from kio.schema.api_versions.v3 import request as av3
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import RunningBroker
from tests.integration.broker.clients import create_topic
from tests.integration.transactions.txn_clients import put_sentinels, read_to_sentinels
from tests.kafka.fixtures import KafkaSingle

from .raw_txn import coordinator_address, produce, send, transactional_batch, write_marker
from .raw_txn_v2 import end_txn, init_producer_v5

WRITE_TXN_MARKERS = 27


def write_marker_v2(
    leader: str, producer: tuple[int, int], target: tuple[str, int], *, transaction_version: int
) -> ErrorCode:
    """WriteTxnMarkers v2 (a commit) from a coordinator of epoch 0, as a single node's is."""
    return write_marker(
        leader, producer, target, coordinator_epoch=0, transaction_version=transaction_version
    )


def _advertised_body(bootstrap: str) -> None:
    got = send(
        bootstrap,
        av3.ApiVersionsRequest(client_software_name="raw", client_software_version="1"),
    )
    [key] = [k for k in got.api_keys if k.api_key == WRITE_TXN_MARKERS]
    assert (key.min_version, key.max_version) == (1, 2)


def _bumped_epoch_body(bootstrap: str) -> None:
    topic = f"wtm2-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    tid = f"wtm2-{topic}"
    target = (topic, 0)
    coordinator = coordinator_address(bootstrap, tid)
    pid, epoch = init_producer_v5(coordinator, tid)
    batch = transactional_batch(pid, epoch, 0, [b"kept"])
    assert produce(bootstrap, tid, target, batch, version=12) == ErrorCode.none

    # a TV2 marker of the open transaction's own epoch is a late one: refused, still open
    assert (
        write_marker_v2(bootstrap, (pid, epoch), target, transaction_version=2)
        == ErrorCode.invalid_producer_epoch
    )
    # the same marker as a TV0/TV1 coordinator sends it (v2 and v1 frames alike) is taken
    assert write_marker_v2(bootstrap, (pid, epoch), target, transaction_version=0) == (
        ErrorCode.none
    )
    assert write_marker(bootstrap, (pid, epoch), target, coordinator_epoch=0) == ErrorCode.none

    # a TV2 marker with the bumped epoch ends the next transaction ...
    nxt = transactional_batch(pid, epoch, 1, [b"next"])
    assert produce(bootstrap, tid, target, nxt, version=9) == ErrorCode.none
    bumped = (pid, epoch + 1)
    assert write_marker_v2(bootstrap, bumped, target, transaction_version=2) == ErrorCode.none
    # ... its retry (nothing open any more) is taken again; an older epoch is not
    assert write_marker_v2(bootstrap, bumped, target, transaction_version=2) == ErrorCode.none
    assert (
        write_marker_v2(bootstrap, (pid, epoch), target, transaction_version=2)
        == ErrorCode.invalid_producer_epoch
    )

    # the coordinator's own commit (TV2, bumped epoch) still goes through: the partition took
    # the same epoch already, with nothing open, so the marker counts as its retry
    assert end_txn(coordinator, tid, (pid, epoch), commit=True) == (
        ErrorCode.none,
        pid,
        epoch + 1,
    )
    put_sentinels(bootstrap, topic, 1)
    assert read_to_sentinels(bootstrap, topic, 1, "read_committed") == [b"kept", b"next"]


def test_write_txn_markers_v2_is_advertised(builtin_broker: RunningBroker) -> None:
    _advertised_body(builtin_broker.bootstrap)


def test_tv2_marker_needs_a_bumped_epoch(builtin_broker: RunningBroker) -> None:
    _bumped_epoch_body(builtin_broker.bootstrap)


@pytest.mark.realkafka
def test_write_txn_markers_v2_is_advertised_kafka(kafka_single: KafkaSingle) -> None:
    _advertised_body(kafka_single.bootstrap)


@pytest.mark.realkafka
def test_tv2_marker_needs_a_bumped_epoch_kafka(kafka_single: KafkaSingle) -> None:
    _bumped_epoch_body(kafka_single.bootstrap)
