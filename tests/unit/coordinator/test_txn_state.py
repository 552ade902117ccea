"""The transaction state table agrees with Kafka's TransactionState rules."""

from __future__ import annotations

import pytest

from embedded_broker.coordinator.txn_state import (
    TRANSITIONS,
    VALID_PREVIOUS,
    IllegalTxnTransitionError,
    TxnEvent,
    TxnState,
    next_state,
)


def test_every_transition_is_one_kafka_allows() -> None:
    for (source, _event), target in TRANSITIONS.items():
        assert source in VALID_PREVIOUS[target], (source, target)


def test_every_move_kafka_allows_is_reachable() -> None:
    reachable = {(source, target) for (source, _e), target in TRANSITIONS.items()}
    for target, sources in VALID_PREVIOUS.items():
        for source in sources:
            assert (source, target) in reachable, (source, target)


def test_a_commit_and_an_abort_run_to_completion() -> None:
    state = next_state(TxnState.EMPTY, TxnEvent.ADD_PARTITIONS)
    state = next_state(state, TxnEvent.ADD_OFFSETS)
    assert next_state(next_state(state, TxnEvent.END_COMMIT), TxnEvent.MARKERS_WRITTEN) == (
        TxnState.COMPLETE_COMMIT
    )
    fenced = next_state(state, TxnEvent.TIMED_OUT)
    aborting = next_state(fenced, TxnEvent.FENCED_ABORT)
    assert next_state(aborting, TxnEvent.MARKERS_WRITTEN) == TxnState.COMPLETE_ABORT


def test_illegal_moves_are_refused_with_the_state_named() -> None:
    with pytest.raises(IllegalTxnTransitionError, match="PrepareCommit"):
        next_state(TxnState.PREPARE_COMMIT, TxnEvent.ADD_PARTITIONS)
    with pytest.raises(IllegalTxnTransitionError):
        next_state(TxnState.EMPTY, TxnEvent.END_COMMIT)  # nothing to commit
    with pytest.raises(IllegalTxnTransitionError):
        next_state(TxnState.ONGOING, TxnEvent.EXPIRED)  # an open transaction never expires


def test_state_ids_and_names_match_the_transaction_log() -> None:
    assert [s.id for s in TxnState] == list(range(8))
    assert TxnState.from_id(7) is TxnState.PREPARE_EPOCH_FENCE
    assert TxnState.PREPARE_EPOCH_FENCE.display_name == "PrepareEpochFence"
    assert {s for s in TxnState if s.expiration_allowed} == {
        TxnState.EMPTY,
        TxnState.COMPLETE_COMMIT,
        TxnState.COMPLETE_ABORT,
    }
    with pytest.raises(ValueError, match="unknown transaction state id 9"):
        TxnState.from_id(9)
