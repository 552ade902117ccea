"""A leader's view of a follower: Kafka's caught-up rules, which decide ISR membership."""

from __future__ import annotations

from embedded_broker.replication.partition import FollowerProgress

LAG = 1000


def test_asking_for_the_leaders_end_is_caught_up_now() -> None:
    progress = FollowerProgress()
    progress.fetched(10, leader_leo=10, now_ms=5_000)
    assert progress.last_caught_up_ms == 5_000
    assert progress.caught_up(10, now_ms=5_500, lag_ms=LAG)


def test_reaching_what_the_leader_had_at_the_previous_fetch_counts_from_then() -> None:
    progress = FollowerProgress()
    progress.fetched(0, leader_leo=10, now_ms=1_000)  # behind: not caught up
    assert progress.last_caught_up_ms == 0
    progress.fetched(10, leader_leo=20, now_ms=1_800)  # has what the leader had at 1000
    assert progress.last_caught_up_ms == 1_000
    assert not progress.caught_up(20, now_ms=2_500, lag_ms=LAG)  # 1.5 s since, behind
    assert progress.caught_up(10, now_ms=9_000, lag_ms=LAG)  # at the end: in sync anyway


def test_a_follower_that_never_catches_up_falls_out() -> None:
    progress = FollowerProgress(last_caught_up_ms=0)
    for t in range(1, 6):
        progress.fetched(t, leader_leo=100 * t, now_ms=t * 400)
    assert not progress.caught_up(500, now_ms=2_000, lag_ms=LAG)
