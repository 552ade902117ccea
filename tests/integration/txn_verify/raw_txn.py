"""Raw-frame transactional producer steps (InitProducerId, AddPartitionsToTxn, Produce of a
transactional batch), for inputs no client library sends: a write to a partition that was
never added, or a fenced instance writing on."""

from __future__ import annotations

import importlib
import struct
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka.admin import AdminClient
from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.static.primitive import i8

from embedded_broker.protocol import record_batch as rb
from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.integration.groups.wire import WireClient, make, ms
from tests.unit.storage.batches import Rec, build_batch

_CRC_OFFSET = 17
# answers meaning "ask again": the coordinator or a leader still loading or moving, or a
# leader that could not reach the coordinator yet (KIP-890's NOT_ENOUGH_REPLICAS)
NOT_YET = frozenset(
    {
        ErrorCode.coordinator_load_in_progress,
        ErrorCode.coordinator_not_available,
        ErrorCode.not_coordinator,
        ErrorCode.not_leader_or_follower,
        ErrorCode.leader_not_available,
        ErrorCode.unknown_topic_or_partition,
        ErrorCode.not_enough_replicas,
        ErrorCode.concurrent_transactions,
        ErrorCode.request_timed_out,
    }
)


def _req(module: str, version: int) -> Any:
    return importlib.import_module(f"kio.schema.{module}.v{version}.request")


def send(address: str, request: Any) -> Any:
    """One request on a connection of its own."""
    client = WireClient(address)
    try:
        return client.send(request)
    finally:
        client.close()


def transactional_batch(
    pid: int, epoch: int, seq: int, values: Sequence[bytes] | None = None
) -> bytes:
    """A transactional batch of ``values`` (keys b"k"; by default two records b"txn-<seq>")
    from ``seq``."""
    if values is None:
        values = [b"txn-%d" % (seq + i) for i in range(2)]
    raw = bytearray(
        build_batch(
            [Rec(b"k", v) for v in values],
            producer_id=pid,
            producer_epoch=epoch,
            base_sequence=seq,
            base_timestamp=time.time_ns() // 1_000_000,
        )
    )
    raw[rb.ATTRIBUTES_OFFSET + 1] |= rb.TRANSACTIONAL_BIT
    struct.pack_into(">I", raw, _CRC_OFFSET, rb.compute_crc(raw))
    return bytes(raw)


def coordinator_address(bootstrap: str, tid: str) -> str:
    """host:port of the transactional id's coordinator (FindCoordinator also makes Kafka
    create __transaction_state on first use)."""

    def ask() -> str | None:
        found = send(
            bootstrap.split(",", maxsplit=1)[0],
            find_req.FindCoordinatorRequest(key_type=i8(1), coordinator_keys=(tid,)),
        ).coordinators[0]
        if found.error_code != ErrorCode.none:
            return None
        return f"{found.host}:{found.port}"

    address: str = wait_for(ask, start_timeout_s(), f"a coordinator of {tid!r}")
    return address


def init_producer(
    coordinator: str, tid: str, timeout_ms: int = 60_000, *, version: int = 4
) -> tuple[int, int]:
    mod = _req("init_producer_id", version)

    def ask() -> tuple[int, int] | None:
        got = send(
            coordinator,
            make(
                mod.InitProducerIdRequest,
                transactional_id=tid,
                transaction_timeout=ms(timeout_ms),
                producer_id=-1,
                producer_epoch=-1,
            ),
        )
        if got.error_code in NOT_YET:
            return None
        assert got.error_code == ErrorCode.none, got.error_code
        return int(got.producer_id), int(got.producer_epoch)

    result: tuple[int, int] = wait_for(ask, start_timeout_s(), f"InitProducerId of {tid!r}")
    return result


def add_partition(
    coordinator: str, tid: str, producer: tuple[int, int], topic: str, index: int
) -> None:
    mod = _req("add_partitions_to_txn", 3)

    def ask() -> bool:
        got = send(
            coordinator,
            make(
                mod.AddPartitionsToTxnRequest,
                v3_and_below_transactional_id=tid,
                v3_and_below_producer_id=producer[0],
                v3_and_below_producer_epoch=producer[1],
                v3_and_below_topics=(
                    make(mod.AddPartitionsToTxnTopic, name=topic, partitions=(index,)),
                ),
            ),
        )
        code = got.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
        if code in NOT_YET:
            return False
        assert code == ErrorCode.none, code
        return True

    wait_for(ask, start_timeout_s(), f"AddPartitionsToTxn of {topic}-{index}")


def produce_once(
    leader: str, tid: str, target: tuple[str, int], records: bytes, *, version: int
) -> ErrorCode:
    topic, index = target
    mod = _req("produce", version)
    got = send(
        leader,
        make(
            mod.ProduceRequest,
            transactional_id=tid,
            acks=-1,
            timeout=ms(30_000),
            topic_data=(
                make(
                    mod.TopicProduceData,
                    name=topic,
                    partition_data=(make(mod.PartitionProduceData, index=index, records=records),),
                ),
            ),
        ),
    )
    return ErrorCode(got.responses[0].partition_responses[0].error_code)


def produce(
    leader: str, tid: str, target: tuple[str, int], records: bytes, *, version: int
) -> ErrorCode:
    """The first answer that is not a "not yet" one."""
    answers: list[ErrorCode] = []

    def ask() -> tuple[ErrorCode] | None:
        code = produce_once(leader, tid, target, records, version=version)
        answers.append(code)
        return None if code in NOT_YET else (code,)  # (ErrorCode.none is false)

    result: tuple[ErrorCode] = wait_for(
        ask, start_timeout_s(), lambda: f"a final Produce answer (got {answers[-3:]})"
    )
    return result[0]


def leaders(bootstrap: str, topic: str, partitions: int) -> dict[int, str]:
    """host:port of each partition's leader."""
    client = AdminClient({"bootstrap.servers": bootstrap})

    def ask() -> dict[int, str] | None:
        md = client.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None or len(t.partitions) < partitions:
            return None
        found = {}
        for index, p in t.partitions.items():
            broker = md.brokers.get(p.leader)
            if broker is None:
                return None
            found[index] = f"{broker.host}:{broker.port}"
        return found

    result: dict[int, str] = wait_for(ask, start_timeout_s(), f"leaders of {topic}")
    return result


def write_marker(
    leader: str,
    producer: tuple[int, int],
    target: tuple[str, int],
    *,
    coordinator_epoch: int,
    transaction_version: int | None = None,
) -> ErrorCode:
    """WriteTxnMarkers (a commit) as a coordinator of ``coordinator_epoch`` sends it: a v1 frame,
    or a v2 one (KIP-1228) naming ``transaction_version`` when that is given."""
    mod = _req("write_txn_markers", 1 if transaction_version is None else 2)
    topic, index = target
    got = send(
        leader,
        make(
            mod.WriteTxnMarkersRequest,
            markers=(
                make(
                    mod.WritableTxnMarker,
                    producer_id=producer[0],
                    producer_epoch=producer[1],
                    transaction_result=True,
                    topics=(
                        make(mod.WritableTxnMarkerTopic, name=topic, partition_indexes=(index,)),
                    ),
                    coordinator_epoch=coordinator_epoch,
                    transaction_version=transaction_version,  # (not in a v1 frame)
                ),
            ),
        ),
    )
    return ErrorCode(got.markers[0].topics[0].partitions[0].error_code)


def end_txn_answer(
    coordinator: str, tid: str, producer: tuple[int, int], *, commit: bool, version: int
) -> tuple[ErrorCode, int, int]:
    """The first final EndTxn answer: (error, producer id, producer epoch; -1 before v5)."""
    mod = _req("end_txn", version)

    def ask() -> tuple[ErrorCode, int, int] | None:
        got = send(
            coordinator,
            make(
                mod.EndTxnRequest,
                transactional_id=tid,
                producer_id=producer[0],
                producer_epoch=producer[1],
                committed=commit,
            ),
        )
        code = ErrorCode(got.error_code)
        if code in NOT_YET:
            return None
        return code, int(getattr(got, "producer_id", -1)), int(getattr(got, "producer_epoch", -1))

    result: tuple[ErrorCode, int, int] = wait_for(ask, start_timeout_s(), f"EndTxn of {tid!r}")
    return result


def end_txn(coordinator: str, tid: str, producer: tuple[int, int], *, commit: bool) -> None:
    """EndTxn v3, answered without error."""
    code = end_txn_answer(coordinator, tid, producer, commit=commit, version=3)[0]
    assert code == ErrorCode.none, code
