"""Every transaction state transition, as one explicit table (Kafka's TransactionState rules).

The transaction coordinator (not built yet: issue 15's next part) changes a transactional id's
state only through this table. A cell (state, event) -> next state exists exactly where Kafka
allows the move (its ``validPreviousStates``, transaction protocol v2 included: an EndTxn abort
is accepted from Empty and the Complete states, since a client may not know the server's state).
The state ids are the ones stored in ``__transaction_state`` records and the names the ones
DescribeTransactions and ListTransactions report.
"""

from __future__ import annotations

from enum import Enum


class TxnState(Enum):
    """(id in __transaction_state, name in DescribeTransactions, expiration allowed)."""

    EMPTY = (0, "Empty", True)
    ONGOING = (1, "Ongoing", False)
    PREPARE_COMMIT = (2, "PrepareCommit", False)
    PREPARE_ABORT = (3, "PrepareAbort", False)
    COMPLETE_COMMIT = (4, "CompleteCommit", True)
    COMPLETE_ABORT = (5, "CompleteAbort", True)
    DEAD = (6, "Dead", False)
    PREPARE_EPOCH_FENCE = (7, "PrepareEpochFence", False)

    @property
    def id(self) -> int:
        return self.value[0]

    @property
    def display_name(self) -> str:
        return self.value[1]

    @property
    def expiration_allowed(self) -> bool:
        """transactional.id.expiration.ms may remove an id only in these states."""
        return self.value[2]

    @classmethod
    def from_id(cls, state_id: int) -> TxnState:
        for state in cls:
            if state.id == state_id:
                return state
        raise ValueError(f"unknown transaction state id {state_id} in the transaction log")


class TxnEvent(Enum):
    # InitProducerId for an id with no transaction in flight: the epoch is bumped.
    INIT_PRODUCER_ID = "init producer id"
    # InitProducerId while a transaction is open: its producer is fenced, then it is aborted.
    INIT_FENCES_ONGOING = "init producer id fences the ongoing transaction"
    # AddPartitionsToTxn (or the implicit add of transaction protocol v2).
    ADD_PARTITIONS = "add partitions"
    # AddOffsetsToTxn: the group's __consumer_offsets partition joins the transaction.
    ADD_OFFSETS = "add offsets"
    # EndTxn with commit.
    END_COMMIT = "end transaction: commit"
    # EndTxn with abort (also accepted when nothing is open, in protocol v2).
    END_ABORT = "end transaction: abort"
    # transaction.timeout.ms passed: the coordinator fences the producer before aborting.
    TIMED_OUT = "transaction timed out"
    # The fenced transaction moves on to its abort.
    FENCED_ABORT = "abort after fencing"
    # Every partition acknowledged the commit or abort markers (WriteTxnMarkers).
    MARKERS_WRITTEN = "markers written"
    # transactional.id.expiration.ms passed since the id was last used.
    EXPIRED = "transactional id expired"


S = TxnState
E = TxnEvent

_AT_REST = (S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT)

TRANSITIONS: dict[tuple[TxnState, TxnEvent], TxnState] = {
    **{(s, E.INIT_PRODUCER_ID): S.EMPTY for s in _AT_REST},
    (S.ONGOING, E.INIT_FENCES_ONGOING): S.PREPARE_EPOCH_FENCE,
    **{(s, E.ADD_PARTITIONS): S.ONGOING for s in (*_AT_REST, S.ONGOING)},
    **{(s, E.ADD_OFFSETS): S.ONGOING for s in (*_AT_REST, S.ONGOING)},
    (S.ONGOING, E.END_COMMIT): S.PREPARE_COMMIT,
    **{(s, E.END_ABORT): S.PREPARE_ABORT for s in (*_AT_REST, S.ONGOING)},
    (S.ONGOING, E.TIMED_OUT): S.PREPARE_EPOCH_FENCE,
    (S.PREPARE_EPOCH_FENCE, E.FENCED_ABORT): S.PREPARE_ABORT,
    (S.PREPARE_COMMIT, E.MARKERS_WRITTEN): S.COMPLETE_COMMIT,
    (S.PREPARE_ABORT, E.MARKERS_WRITTEN): S.COMPLETE_ABORT,
    **{(s, E.EXPIRED): S.DEAD for s in _AT_REST},
}

# Kafka's validPreviousStates, which the table must agree with (checked by the unit tests).
VALID_PREVIOUS: dict[TxnState, frozenset[TxnState]] = {
    S.EMPTY: frozenset(_AT_REST),
    S.ONGOING: frozenset({S.ONGOING, *_AT_REST}),
    S.PREPARE_COMMIT: frozenset({S.ONGOING}),
    S.PREPARE_ABORT: frozenset({S.ONGOING, S.PREPARE_EPOCH_FENCE, *_AT_REST}),
    S.COMPLETE_COMMIT: frozenset({S.PREPARE_COMMIT}),
    S.COMPLETE_ABORT: frozenset({S.PREPARE_ABORT}),
    S.DEAD: frozenset(_AT_REST),
    S.PREPARE_EPOCH_FENCE: frozenset({S.ONGOING}),
}


class IllegalTxnTransitionError(RuntimeError):
    """A move the table does not allow: a coordinator bug, or a request to refuse."""


def next_state(state: TxnState, event: TxnEvent) -> TxnState:
    """The state after ``event``; raises IllegalTxnTransitionError if Kafka does not allow it."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTxnTransitionError(
            f"a transaction in state {state.display_name} cannot take '{event.value}'"
        ) from None
