"""The transition table itself: every legal cell and the refusal of everything else."""

import pytest

from embedded_broker.coordinator import GroupEvent, GroupState, IllegalTransitionError, next_state
from embedded_broker.coordinator.state import TRANSITIONS

S = GroupState
E = GroupEvent


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (S.EMPTY, E.JOIN, S.PREPARING_REBALANCE),
        (S.EMPTY, E.OFFSET_COMMIT, S.EMPTY),
        (S.EMPTY, E.DELETE, S.DEAD),
        (S.EMPTY, E.OFFSETS_EXPIRED, S.DEAD),
        (S.PREPARING_REBALANCE, E.JOIN, S.PREPARING_REBALANCE),
        (S.PREPARING_REBALANCE, E.LEAVE, S.PREPARING_REBALANCE),
        (S.PREPARING_REBALANCE, E.SESSION_EXPIRY, S.PREPARING_REBALANCE),
        (S.PREPARING_REBALANCE, E.ALL_JOINED, S.COMPLETING_REBALANCE),
        (S.PREPARING_REBALANCE, E.REBALANCE_TIMEOUT, S.COMPLETING_REBALANCE),
        (S.PREPARING_REBALANCE, E.INITIAL_DELAY_ELAPSED, S.COMPLETING_REBALANCE),
        (S.PREPARING_REBALANCE, E.JOIN_ENDED_EMPTY, S.EMPTY),
        (S.COMPLETING_REBALANCE, E.JOIN, S.PREPARING_REBALANCE),
        (S.COMPLETING_REBALANCE, E.LEAVE, S.PREPARING_REBALANCE),
        (S.COMPLETING_REBALANCE, E.SESSION_EXPIRY, S.PREPARING_REBALANCE),
        (S.COMPLETING_REBALANCE, E.SYNC_TIMEOUT, S.PREPARING_REBALANCE),
        (S.COMPLETING_REBALANCE, E.SYNC, S.STABLE),
        (S.STABLE, E.JOIN, S.PREPARING_REBALANCE),
        (S.STABLE, E.LEAVE, S.PREPARING_REBALANCE),
        (S.STABLE, E.SESSION_EXPIRY, S.PREPARING_REBALANCE),
        (S.STABLE, E.SYNC_TIMEOUT, S.PREPARING_REBALANCE),
        (S.STABLE, E.STORE_FAILED, S.PREPARING_REBALANCE),
        (S.STABLE, E.DOWNGRADE, S.PREPARING_REBALANCE),
        (S.STABLE, E.OVER_CAPACITY, S.PREPARING_REBALANCE),
    ],
)
def test_legal_transitions(state: GroupState, event: GroupEvent, expected: GroupState) -> None:
    assert next_state(state, event) is expected


def test_table_has_exactly_the_listed_cells() -> None:
    assert len(TRANSITIONS) == 23


@pytest.mark.parametrize("state", list(GroupState))
@pytest.mark.parametrize("event", list(GroupEvent))
def test_every_other_cell_is_illegal(state: GroupState, event: GroupEvent) -> None:
    if (state, event) in TRANSITIONS:
        return
    with pytest.raises(IllegalTransitionError):
        next_state(state, event)


def test_dead_is_final() -> None:
    assert not [key for key in TRANSITIONS if key[0] is S.DEAD]
