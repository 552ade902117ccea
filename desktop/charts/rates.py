"""Turns successive snapshots into per-topic produce rates and per-broker leader counts."""

from __future__ import annotations

from desktop.charts.ring import RingBuffer
from desktop.domain.cluster import ClusterSnapshot
from desktop.domain.health import summarize

MAX_SERIES = 400  # bounded: the busiest topics only


class SeriesStore:
    def __init__(self, capacity: int = 720) -> None:
        self.capacity = capacity
        self.rates: dict[str, RingBuffer] = {}
        self.leaders: dict[int, RingBuffer] = {}
        self._last: dict[str, tuple[float, int]] = {}
        self.t0: float | None = None

    def add(self, s: ClusterSnapshot) -> None:
        t = s.fetched_at
        if self.t0 is None:
            self.t0 = t
        rel = t - self.t0
        for topic in s.topics:
            high = topic.high_total
            prev = self._last.get(topic.name)
            self._last[topic.name] = (t, high)
            if prev is None or t <= prev[0]:
                continue
            rate = max(0.0, (high - prev[1]) / (t - prev[0]))
            buf = self.rates.get(topic.name)
            if buf is None:
                if len(self.rates) >= MAX_SERIES:
                    continue
                buf = self.rates[topic.name] = RingBuffer(self.capacity)
            buf.append(rel, rate)
        for load in summarize(s).loads:
            lb = self.leaders.setdefault(load.broker_id, RingBuffer(self.capacity))
            lb.append(rel, float(load.leaders))

    def top_topics(self, n: int) -> list[str]:
        def recent(name: str) -> float:
            _t, v = self.rates[name].arrays()
            return float(v[-12:].sum()) if len(v) else 0.0

        return sorted(self.rates, key=recent, reverse=True)[:n]
