"""Raw-frame steps of transactions v2 (KIP-890 part 2): EndTxn v5 with its new producer id and
epoch, TxnOffsetCommit v5 without AddOffsetsToTxn, DescribeTransactions and OffsetFetch, so a test
can see what a client library hides (the epoch bump, the implicit adds, a retry's answer)."""

from __future__ import annotations

import importlib
from typing import Any

from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.static.primitive import i8

from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.integration.groups.wire import make

from .raw_txn import NOT_YET, end_txn_answer, init_producer, send


def _req(module: str, version: int) -> Any:
    return importlib.import_module(f"kio.schema.{module}.v{version}.request")


def group_coordinator(bootstrap: str, group: str) -> str:
    def ask() -> str | None:
        found = send(
            bootstrap.split(",", maxsplit=1)[0],
            find_req.FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(group,)),
        ).coordinators[0]
        if found.error_code != ErrorCode.none:
            return None
        return f"{found.host}:{found.port}"

    address: str = wait_for(ask, start_timeout_s(), f"the coordinator of group {group!r}")
    return address


def end_txn(
    coordinator: str, tid: str, producer: tuple[int, int], *, commit: bool, version: int = 5
) -> tuple[ErrorCode, int, int]:
    """The first final EndTxn answer: (error, producer id, producer epoch)."""
    return end_txn_answer(coordinator, tid, producer, commit=commit, version=version)


def describe(coordinator: str, tid: str) -> tuple[str, int, int, set[tuple[str, int]]]:
    """(state, producer id, producer epoch, partitions) from DescribeTransactions."""
    mod = _req("describe_transactions", 0)
    got = send(coordinator, make(mod.DescribeTransactionsRequest, transactional_ids=(tid,)))
    state = got.transaction_states[0]
    assert state.error_code == ErrorCode.none, state.error_code
    parts = {(str(t.topic), int(p)) for t in state.topics for p in t.partitions}
    return str(state.transaction_state), int(state.producer_id), int(state.producer_epoch), parts


def wait_state(coordinator: str, tid: str, wanted: str) -> tuple[str, int, int, set[Any]]:
    """DescribeTransactions once the transaction reached ``wanted`` (Kafka answers EndTxn
    before its markers are written; the built-in broker after)."""
    seen: list[Any] = []

    def ask() -> tuple[str, int, int, set[Any]] | None:
        found = describe(coordinator, tid)
        seen.append(found)
        return found if found[0] == wanted else None

    result: tuple[str, int, int, set[Any]] = wait_for(
        ask, start_timeout_s(), lambda: f"{tid!r} in state {wanted} (seen {seen[-1:]})"
    )
    return result


def txn_offset_commit(
    group_coordinator_address: str,
    tid: str,
    producer: tuple[int, int],
    group: str,
    target: tuple[str, int, int],
    *,
    version: int = 5,
) -> ErrorCode:
    """The first final TxnOffsetCommit answer for one partition's offset."""
    mod = _req("txn_offset_commit", version)
    topic, index, offset = target

    def ask() -> tuple[ErrorCode] | None:
        got = send(
            group_coordinator_address,
            make(
                mod.TxnOffsetCommitRequest,
                transactional_id=tid,
                group_id=group,
                producer_id=producer[0],
                producer_epoch=producer[1],
                generation_id=-1,
                member_id="",
                group_instance_id=None,
                topics=(
                    make(
                        mod.TxnOffsetCommitRequestTopic,
                        name=topic,
                        partitions=(
                            make(
                                mod.TxnOffsetCommitRequestPartition,
                                partition_index=index,
                                committed_offset=offset,
                                committed_leader_epoch=-1,
                                committed_metadata="",
                            ),
                        ),
                    ),
                ),
            ),
        )
        code = ErrorCode(got.topics[0].partitions[0].error_code)
        return None if code in NOT_YET else (code,)

    result: tuple[ErrorCode] = wait_for(ask, start_timeout_s(), "a final TxnOffsetCommit answer")
    return result[0]


def committed_offset(group_coordinator_address: str, group: str, topic: str, index: int) -> int:
    mod = _req("offset_fetch", 7)
    got = send(
        group_coordinator_address,
        make(
            mod.OffsetFetchRequest,
            group_id=group,
            topics=(make(mod.OffsetFetchRequestTopic, name=topic, partition_indexes=(index,)),),
            require_stable=True,
        ),
    )
    part = got.topics[0].partitions[0]
    if part.error_code != ErrorCode.none:
        return -2  # not stable yet (UNSTABLE_OFFSET_COMMIT): the caller waits
    return int(part.committed_offset)


def init_producer_v5(coordinator: str, tid: str, timeout_ms: int = 60_000) -> tuple[int, int]:
    return init_producer(coordinator, tid, timeout_ms, version=5)
