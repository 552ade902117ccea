"""The lag rule, reset targets and lag history, without Qt or a broker."""

from __future__ import annotations

import time

import pytest

from desktop.charts.lag import MAX_GROUP_SERIES, LagHistory, catch_up_text
from desktop.domain.groups import (
    NO_COMMITS,
    GroupSummary,
    PartitionLag,
    ResetMode,
    lag_totals,
    new_offset,
    partition_lag,
)
from desktop.services.groups import TimeCache


@pytest.mark.parametrize(
    ("committed", "end", "expected"),
    [
        (10, 15, (5, False)),
        (15, 15, (0, False)),
        (20, 15, (0, True)),  # above the high watermark: clamped and flagged
        (None, 15, (None, False)),  # no commit is not zero
        (-1, 15, (None, False)),
        (3, None, (None, False)),
    ],
)
def test_partition_lag(committed: int | None, end: int | None, expected: object) -> None:
    assert partition_lag(committed, end) == expected


def test_group_aggregates_and_no_commits() -> None:
    g = GroupSummary(
        "g",
        "Stable",
        partitions=(
            PartitionLag("t", 0, 1, 5),
            PartitionLag("t", 1, 9, 8),
            PartitionLag("u", 0, 2, 9),
        ),
        offsets_loaded=True,
    )
    assert (g.total_lag, g.max_lag, g.ahead) == (11, 7, 1)
    assert g.topics == ("t", "u")
    assert (g.committed_total, g.end_total) == (12, 22)
    empty = GroupSummary("e", "Empty", offsets_loaded=True)
    assert empty.lag_text(empty.total_lag) == NO_COMMITS
    assert GroupSummary("x", "Stable").lag_text(None) is None  # still loading


@pytest.mark.parametrize(
    ("mode", "value", "current", "at_time", "expected"),
    [
        (ResetMode.EARLIEST, 0, 50, None, 10),
        (ResetMode.LATEST, 0, 50, None, 100),
        (ResetMode.OFFSET, 70, 50, None, 70),
        (ResetMode.OFFSET, 500, 50, None, 100),  # clamped to the end
        (ResetMode.OFFSET, 0, 50, None, 10),  # clamped to the start
        (ResetMode.SHIFT, -20, 50, None, 30),
        (ResetMode.SHIFT, -80, 50, None, 10),
        (ResetMode.TIMESTAMP, 0, 50, 42, 42),
        (ResetMode.TIMESTAMP, 0, 50, -1, 100),  # nothing that new: the end
    ],
)
def test_new_offset(
    mode: ResetMode, value: int, current: int | None, at_time: int | None, expected: int
) -> None:
    assert new_offset(mode, value, current, low=10, high=100, at_time=at_time) == expected


def _group(gid: str, committed: int, end: int) -> GroupSummary:
    return GroupSummary(
        gid, "Stable", partitions=(PartitionLag("t", 0, committed, end),), offsets_loaded=True
    )


def test_history_rates_and_catch_up() -> None:
    h = LagHistory(capacity=8)
    # consuming 30/s while producing 10/s: lag 400 shrinks by 20/s
    for i in range(5):
        h.add_groups(1000.0 + i, [_group("g", 100 + 30 * i, 500 + 10 * i)])
    _t, lag = h.total["g"].arrays()
    assert list(lag) == [400, 380, 360, 340, 320]
    assert list(h.consumed["g"].arrays()[1]) == [30.0] * 4
    assert list(h.produced["g"].arrays()[1]) == [10.0] * 4
    assert h.catch_up_s("g") == pytest.approx(320 / 20)
    for i in range(5, 20):  # bounded: only `capacity` points are kept
        h.add_groups(1000.0 + i, [_group("g", 100 + 30 * i, 500 + 10 * i)])
    assert len(h.total["g"]) == 8


def test_history_not_gaining_has_no_estimate() -> None:
    h = LagHistory()
    for i in range(3):
        h.add_groups(float(i), [_group("slow", 10 + i, 100 + 5 * i)])
    assert h.catch_up_s("slow") is None


def test_catch_up_rests_on_the_stated_window() -> None:
    h = LagHistory()
    # fast for a while (60/s against 10/s), then for the last 30 s slower than producing
    for i in range(10):
        h.add_groups(1000.0 + 10 * i, [_group("g", 100 + 600 * i, 10_000 + 100 * i)])
    assert h.catch_up_s("g") is not None
    assert "Catch-up in" in catch_up_text(h.catch_up_s("g"), h.rates("g"))
    base_c, base_e, t0 = 100 + 600 * 9, 10_000 + 100 * 9, 1090.0
    for i in range(1, 5):
        h.add_groups(t0 + 10 * i, [_group("g", base_c + 50 * i, base_e + 100 * i)])
    assert h.rates("g") == pytest.approx((5.0, 10.0))
    assert h.catch_up_s("g") is None  # the early fast minutes do not count
    text = catch_up_text(h.catch_up_s("g"), h.rates("g"))
    assert text.startswith("No catch-up estimate: not consuming faster than producing")
    assert "at the last 30 s rates (5/s consumed, 10/s produced)" in text


def test_one_lag_computation_keeps_partitions_without_a_commit_apart() -> None:
    parts = (
        PartitionLag("t", 0, 100, 1_707),
        PartitionLag("t", 1, None, 5_000, start=0),
        PartitionLag("t", 2, None, 6_000, start=1_000),
        PartitionLag("t", 3, None, 5_000),
    )
    totals = lag_totals(parts)
    assert (totals.lag, totals.no_commit, totals.unread) == (1_607, 3, 15_000)
    assert totals.text() == "lag 1,607 + 15,000 unread on 3 partitions without a commit"
    g = GroupSummary("g", "Stable", partitions=parts, offsets_loaded=True)
    assert g.totals == totals and g.total_lag == 1_607
    assert g.totals_text() == totals.text()
    only_bare = GroupSummary("b", "Stable", partitions=parts[1:2], offsets_loaded=True)
    assert only_bare.totals_text() == "5,000 unread on 1 partition without a commit"


def test_history_bounds_the_number_of_groups() -> None:
    h = LagHistory(capacity=4)
    h.add_groups(1.0, [_group(f"g{i}", 0, 1) for i in range(MAX_GROUP_SERIES + 50)])
    assert len(h.total) == MAX_GROUP_SERIES


def test_time_cache_retries_failed_reads_later() -> None:
    cache = TimeCache()
    wanted = [("t", 0, 5), ("t", 1, 7)]
    assert cache.to_fetch(wanted) == wanted
    cache.known[("t", 0, 5)] = 1.0
    cache.failed[("t", 1, 7)] = time.monotonic()
    assert cache.to_fetch(wanted) == []  # known, and failed just now
    cache.failed[("t", 1, 7)] = time.monotonic() - TimeCache.RETRY_AFTER_S - 1
    assert cache.to_fetch(wanted) == [("t", 1, 7)]
