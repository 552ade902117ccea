"""Broker liveness apart from the metadata: probe results and how long a broker has been down."""

from __future__ import annotations

import time
from dataclasses import dataclass

from desktop.domain.cluster import BrokerInfo


@dataclass(frozen=True)
class ProbeResult:
    """One probe of one broker: it answered (with a round trip) or why it did not."""

    broker_id: int
    ok: bool
    rtt_ms: float | None = None
    reason: str = ""  # "connection refused", "timed out", …


@dataclass(frozen=True)
class BrokerLiveness:
    broker: BrokerInfo
    up: bool
    since: float  # wall-clock: when it went down (or came up)
    reason: str = ""
    rtt_ms: float | None = None

    def status(self, now: float) -> str:
        if self.up:
            return "up" if self.rtt_ms is None else f"up · rtt {self.rtt_ms:.0f} ms"
        return f"unreachable for {max(0, int(now - self.since))} s ({self.reason})"


def update_liveness(
    current: dict[int, BrokerLiveness],
    brokers: dict[int, BrokerInfo],
    results: list[ProbeResult],
    now: float,
) -> tuple[dict[int, BrokerLiveness], list[BrokerLiveness]]:
    """Apply a probe round; returns the new state and the brokers whose up/down flipped."""
    state = dict(current)
    flipped: list[BrokerLiveness] = []
    for r in results:
        broker = brokers.get(r.broker_id)
        if broker is None:
            continue
        prev = state.get(r.broker_id)
        if prev is None or prev.up != r.ok:
            entry = BrokerLiveness(broker, r.ok, now, r.reason, r.rtt_ms)
            if prev is not None:
                flipped.append(entry)
        else:
            entry = BrokerLiveness(broker, r.ok, prev.since, r.reason or prev.reason, r.rtt_ms)
        state[r.broker_id] = entry
    return state, flipped


@dataclass(frozen=True)
class BrokerPresence:
    """A broker seen in this session: in the latest metadata or not, and the probe's word."""

    broker: BrokerInfo
    in_metadata: bool
    liveness: BrokerLiveness | None = None

    @property
    def up(self) -> bool:
        return self.liveness.up if self.liveness is not None else self.in_metadata

    def status(self, now: float) -> str:
        live = self.liveness
        if live is not None and not live.up:
            since = time.strftime("%H:%M:%S", time.localtime(live.since))
            return f"offline since {since} — {live.status(now)}"
        if not self.in_metadata:
            return "answers, but not in the cluster metadata (fenced or starting)"
        return live.status(now) if live is not None else "up"


def presence(
    known: dict[int, BrokerInfo], listed: frozenset[int], liveness: dict[int, BrokerLiveness]
) -> tuple[BrokerPresence, ...]:
    """Every broker ever seen, by id: a dead one stays, marked offline."""
    return tuple(
        BrokerPresence(known[bid], bid in listed, liveness.get(bid)) for bid in sorted(known)
    )
