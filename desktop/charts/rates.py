"""Turns successive snapshots into per-topic produce rates and per-broker leader counts."""

from __future__ import annotations

import math

import numpy as np

from desktop.charts.ring import RingBuffer
from desktop.domain.cluster import ClusterSnapshot, TopicInfo
from desktop.domain.health import summarize

MAX_SERIES = 400  # bounded: the busiest topics only
GAP = math.nan  # a NaN sample breaks the curve: pyqtgraph draws nothing across it
# Two samples further apart than this many refresh intervals have a gap between them
GAP_FACTOR = 1.6  # refreshes finish with some jitter; a whole missed one is a gap


def topic_high(topic: TopicInfo) -> int | None:
    """The sum of high watermarks, or None when any partition's is unknown (a partial read
    summed as 0 made the total drop and then jump back: a fake 0 and a fake spike)."""
    highs = [p.high for p in topic.partitions]
    if any(h is None for h in highs):
        return None
    return sum(h for h in highs if h is not None)


def derive_rate(
    prev: tuple[float, int] | None, t: float, high: int | None, max_dt: float
) -> float | None:
    """Messages/s between two samples, or None where no honest rate exists: no previous
    sample, a missing watermark, a gap longer than `max_dt`, or watermarks that went back
    (a recreated topic or a truncated log) — never a negative rate, never one spread over a gap."""
    if prev is None or high is None:
        return None
    t0, h0 = prev
    dt = t - t0
    if dt <= 0 or dt > max_dt or high < h0:
        return None
    return (high - h0) / dt


class SeriesStore:
    def __init__(self, capacity: int = 720, interval_s: float = 5.0) -> None:
        self.capacity = capacity
        self.interval_s = interval_s  # the expected spacing of samples, for gap detection
        self.rates: dict[str, RingBuffer] = {}
        self.leaders: dict[int, RingBuffer] = {}
        self._last: dict[str, tuple[float, int]] = {}
        self._last_t: float | None = None

    @property
    def max_dt(self) -> float:
        return max(2.0, self.interval_s * GAP_FACTOR)

    def add(self, s: ClusterSnapshot) -> None:
        """Add one complete snapshot; x values are wall-clock seconds (its fetch time)."""
        t = s.fetched_at
        if self._last_t is not None and t <= self._last_t:
            return
        gap = self._last_t is not None and t - self._last_t > self.max_dt
        self._last_t = t
        seen: set[str] = set()
        for topic in s.topics:
            seen.add(topic.name)
            high = topic_high(topic)
            prev = self._last.get(topic.name)
            rate = derive_rate(prev, t, high, self.max_dt)
            if high is None:
                self._last.pop(topic.name, None)
            else:
                self._last[topic.name] = (t, high)
            buf = self.rates.get(topic.name)
            if buf is None:
                if rate is None or len(self.rates) >= MAX_SERIES:
                    continue
                buf = self.rates[topic.name] = RingBuffer(self.capacity)
            buf.append(t, GAP if rate is None else rate)
        for name in self._last.keys() - seen:  # a topic missing from this snapshot: a gap
            del self._last[name]
            if name in self.rates:
                self.rates[name].append(t, GAP)
        for load in summarize(s).loads:
            lb = self.leaders.setdefault(load.broker_id, RingBuffer(self.capacity))
            if gap:
                lb.append(t, GAP)
            lb.append(t, float(load.leaders))

    def top_topics(self, n: int) -> list[str]:
        def recent(name: str) -> float:
            _t, v = self.rates[name].arrays()
            tail = v[-12:]
            return float(np.nansum(tail)) if len(tail) else 0.0

        return sorted(self.rates, key=recent, reverse=True)[:n]
