"""Screenshots of a broker failure, from sample domain objects (a local broker can't fail in part).

Clearly sample data: the cluster is called "sample — broker 3 killed" and no broker is contacted."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from desktop.domain.cluster import BrokerInfo, ClusterSnapshot, PartitionInfo, TopicInfo
from desktop.domain.liveness import ProbeResult
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.tools.capture import grab, pause
from desktop.views.cluster_view import ClusterView
from desktop.workers.session import ClusterSession

SIZE = (1400, 860)
BROKERS = {i: BrokerInfo(i, f"kafka-{i}.sample", 9092, f"rack-{'abc'[i - 1]}") for i in (1, 2, 3)}
STEP_S = 5.0
DIES_AT = 60.0
RATE = 60  # messages/s per partition: steady through the failure


def _partitions(topic: str, n: int, rf: int, t: float, dead: bool) -> tuple[PartitionInfo, ...]:
    out = []
    for i in range(n):
        replicas = tuple(((i + k) % 3) + 1 for k in range(rf))
        isr = tuple(r for r in replicas if not (dead and r == 3))
        leader = replicas[0] if not (dead and replicas[0] == 3) else isr[0]
        high = int(RATE * t)
        out.append(PartitionInfo(topic, i, leader, replicas, isr, 0, high))
    return tuple(out)


def _snapshot(base: float, t: float) -> ClusterSnapshot:
    dead = (
        t > DIES_AT + 5
    )  # the controller fenced it at the first refresh after the session expired
    topics = (
        TopicInfo("orders", _partitions("orders", 6, 3, t, dead), min_isr=2),
        TopicInfo("payments", _partitions("payments", 3, 2, t, dead), min_isr=2),
    )
    brokers = tuple(b for i, b in sorted(BROKERS.items()) if not (dead and i == 3))
    return ClusterSnapshot("sample-cluster", 1, brokers, topics, 2, base + t, "Kafka 4.x (sample)")


def render_failure_screens(out: Path, app: QApplication) -> None:
    """timeline.png, broker-offline.png and charts-incident.png from a scripted incident."""
    profile = ClusterProfile("sample — broker 3 killed", "kafka-1.sample:9092")
    session = ClusterSession(profile, Credentials(), refresh_s=5.0)
    view = ClusterView(session)
    view.resize(*SIZE)
    view.show()
    view.tabs.setCurrentWidget(view.charts)  # built before the data: the markers go on it
    pause(app, 0.5)
    base = time.time() - 120.0
    t = 0.0
    while t <= 115.0:
        if t != DIES_AT + 10:  # one refresh missed during the failover: a gap, not a zero
            session.ingest(_snapshot(base, t))
        down = t > DIES_AT
        session.apply_probe_round(
            [
                ProbeResult(b, not (down and b == 3), 1.0, "connection refused" if b == 3 else "")
                for b in BROKERS
            ],
            base + (DIES_AT + 1.2 if down and t <= DIES_AT + STEP_S else t),
        )
        t += STEP_S
    session.last_refresh = time.time()
    pause(app, 1.0)
    grab(view, out / "charts-incident.png")
    view.tabs.setCurrentWidget(view.timeline)
    pause(app, 0.8)
    grab(view, out / "timeline.png")
    view.tabs.setCurrentWidget(view.brokers)
    pause(app, 1.2)
    grab(view, out / "broker-offline.png")
    view.tabs.setCurrentWidget(view.overview)
    pause(app, 0.8)
    grab(view, out / "overview-incident.png")
    view.close_session()
    view.close()
