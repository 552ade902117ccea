"""group.max.size on a manual clock: which classic member Kafka's acceptJoiningMember turns away."""

from embedded_broker.coordinator import GroupError

from .helpers import Harness

FULL = GroupError.GROUP_MAX_SIZE_REACHED


def test_a_stable_full_group_refuses_new_members_but_not_its_own() -> None:
    h = Harness(classic_max_size=2)
    leader, follower = h.stable_group(2)
    refused = h.join("").join
    assert refused.error is FULL
    assert refused.member_id == ""
    assert h.coordinator.groups["g"].pending_members == {}  # no member id was handed out
    rejoin = h.join(follower)  # a known member, same protocols: answered at once
    assert [r.error for r in rejoin.joins] == [GroupError.NONE]
    assert set(h.coordinator.groups["g"].members) == {leader, follower}


def test_while_rebalancing_the_last_member_to_rejoin_is_turned_away() -> None:
    h = Harness(classic_max_size=2)
    leader, follower = h.stable_group(2)
    first = h.join(leader, protocols=(("range", b"new"),))  # changed protocols: rebalance
    assert h.state() == "PreparingRebalance"
    newcomer, waiting = h.new_member()  # the join phase has room: one of two has rejoined
    assert waiting.joins == []
    late = h.join(follower).join  # two have rejoined: the follower, late, is refused
    assert late.error is FULL
    assert set(h.coordinator.groups["g"].members) == {leader, newcomer}
    # with the follower gone every member has rejoined: the join phase ends
    assert first.join.error is GroupError.NONE
    assert waiting.join.error is GroupError.NONE
    assert h.state() == "CompletingRebalance"


def test_an_empty_group_takes_its_first_member_whatever_the_limit() -> None:
    h = Harness(classic_max_size=1)
    [only] = h.stable_group(1)
    assert h.join("").join.error is FULL
    assert list(h.coordinator.groups["g"].members) == [only]
