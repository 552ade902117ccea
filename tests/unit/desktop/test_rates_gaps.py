"""Produce rates from high watermarks: never negative, never made up across a gap."""

from __future__ import annotations

import math

import numpy as np

from desktop.charts.rates import SeriesStore, derive_rate
from desktop.domain.cluster import ClusterSnapshot, PartitionInfo, TopicInfo


def snap(t: float, highs: list[int | None]) -> ClusterSnapshot:
    parts = tuple(PartitionInfo("t", i, 1, (1,), (1,), 0, h) for i, h in enumerate(highs))
    return ClusterSnapshot("c", 1, (), (TopicInfo("t", parts),), 0, t)


def test_derive_rate_refuses_gaps_missing_and_going_back() -> None:
    assert derive_rate((0.0, 100), 1.0, 300, 5.0) == 200.0
    assert derive_rate(None, 1.0, 300, 5.0) is None
    assert derive_rate((0.0, 100), 1.0, None, 5.0) is None
    assert derive_rate((0.0, 100), 10.0, 2100, 5.0) is None  # across a gap: no average
    assert derive_rate((0.0, 100), 1.0, 50, 5.0) is None  # recreated topic: never negative
    assert derive_rate((1.0, 100), 1.0, 150, 5.0) is None


def test_a_partial_read_is_a_gap_not_a_zero_then_a_spike() -> None:
    store = SeriesStore(interval_s=1.0)
    store.add(snap(1000.0, [100, 100]))
    store.add(snap(1001.0, [200, 300]))  # 300 msg/s
    store.add(snap(1002.0, [None, 500]))  # one watermark unknown: a gap
    store.add(snap(1003.0, [400, 700]))  # no baseline yet: still a gap, not 1,000/s
    store.add(snap(1004.0, [500, 900]))
    t, v = store.rates["t"].arrays()
    assert list(t) == [1001.0, 1002.0, 1003.0, 1004.0]  # wall-clock x values
    assert v[0] == 300.0
    assert math.isnan(v[1]) and math.isnan(v[2])
    assert v[3] == 300.0
    assert not (v[~np.isnan(v)] < 0).any()


def test_a_missed_refresh_is_a_gap() -> None:
    store = SeriesStore(interval_s=1.0)
    store.add(snap(1000.0, [0]))
    store.add(snap(1001.0, [200]))
    store.add(snap(1010.0, [2000]))  # refreshes failed for 9 s
    store.add(snap(1011.0, [2200]))
    _t, v = store.rates["t"].arrays()
    assert v[0] == 200.0 and math.isnan(v[1]) and v[2] == 200.0
    _lt, leaders = store.leaders[1].arrays()
    assert int(np.isnan(leaders).sum()) == 1  # the leader line breaks at the gap too
