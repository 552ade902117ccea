"""Every classic-group state transition, as one explicit table (Kafka's ClassicGroupState rules).

A cell (state, event) -> next state is the only way a group changes state; an event that is not
in the table for the current state raises IllegalTransitionError, which means a coordinator bug.
Events that never change state (heartbeat, a follower's sync, a commit to a live group) are
validated by the coordinator and are not listed here.
"""

from __future__ import annotations

from enum import Enum


class GroupState(Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


class GroupEvent(Enum):
    # A member joins (new member, or a known member whose protocols changed / the leader rejoins).
    JOIN = "join"
    # A member leaves with LeaveGroup.
    LEAVE = "leave"
    # A member stopped heartbeating for session.timeout.ms.
    SESSION_EXPIRY = "session expiry"
    # Members that got their join response did not send SyncGroup within the rebalance timeout.
    SYNC_TIMEOUT = "sync timeout"
    # Every known member rejoined: the join phase ends early.
    ALL_JOINED = "all members joined"
    # The rebalance timeout elapsed: members that did not rejoin are removed.
    REBALANCE_TIMEOUT = "rebalance timeout"
    # group.initial.rebalance.delay.ms elapsed for a group that started empty.
    INITIAL_DELAY_ELAPSED = "initial delay elapsed"
    # The join phase ended with no member left.
    JOIN_ENDED_EMPTY = "join ended with no members"
    # The leader sent its assignment with SyncGroup.
    SYNC = "leader sync"
    # An offset commit created a group that only stores offsets (generation -1, no member id).
    OFFSET_COMMIT = "offset commit"
    # The completed rebalance could not be written to the group state log.
    STORE_FAILED = "group metadata could not be stored"
    # DeleteGroups.
    DELETE = "delete"
    # The retention sweep removed the last offsets of an empty group.
    OFFSETS_EXPIRED = "offsets expired"
    # A consumer group became classic again (its last consumer-protocol member left): the
    # classic members rejoin to rebalance.
    DOWNGRADE = "downgraded from a consumer group"
    # A group loaded with more members than group.max.size (it was lowered): the members rejoin,
    # and those past the limit are refused and removed (Kafka's onLoaded).
    OVER_CAPACITY = "loaded over group.max.size"


S = GroupState
E = GroupEvent

_REBALANCE_TRIGGERS = (E.JOIN, E.LEAVE, E.SESSION_EXPIRY)
_JOIN_ENDINGS = (E.ALL_JOINED, E.REBALANCE_TIMEOUT, E.INITIAL_DELAY_ELAPSED)

TRANSITIONS: dict[tuple[GroupState, GroupEvent], GroupState] = {
    # Empty: the first joining member starts a rebalance; commits keep it Empty.
    (S.EMPTY, E.JOIN): S.PREPARING_REBALANCE,
    (S.EMPTY, E.OFFSET_COMMIT): S.EMPTY,
    (S.EMPTY, E.DELETE): S.DEAD,
    (S.EMPTY, E.OFFSETS_EXPIRED): S.DEAD,
    # PreparingRebalance: waiting for every member to rejoin.
    **{(S.PREPARING_REBALANCE, e): S.PREPARING_REBALANCE for e in _REBALANCE_TRIGGERS},
    **{(S.PREPARING_REBALANCE, e): S.COMPLETING_REBALANCE for e in _JOIN_ENDINGS},
    (S.PREPARING_REBALANCE, E.JOIN_ENDED_EMPTY): S.EMPTY,
    # CompletingRebalance: join responses sent, waiting for the leader's assignment.
    **{(S.COMPLETING_REBALANCE, e): S.PREPARING_REBALANCE for e in _REBALANCE_TRIGGERS},
    (S.COMPLETING_REBALANCE, E.SYNC_TIMEOUT): S.PREPARING_REBALANCE,
    (S.COMPLETING_REBALANCE, E.SYNC): S.STABLE,
    # Stable: any membership change starts a new rebalance.
    **{(S.STABLE, e): S.PREPARING_REBALANCE for e in _REBALANCE_TRIGGERS},
    (S.STABLE, E.SYNC_TIMEOUT): S.PREPARING_REBALANCE,
    (S.STABLE, E.STORE_FAILED): S.PREPARING_REBALANCE,
    (S.STABLE, E.DOWNGRADE): S.PREPARING_REBALANCE,
    (S.STABLE, E.OVER_CAPACITY): S.PREPARING_REBALANCE,
}


class IllegalTransitionError(RuntimeError):
    pass


def next_state(state: GroupState, event: GroupEvent) -> GroupState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransitionError(f"no transition from {state.value} on {event.value}") from None
