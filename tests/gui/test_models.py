"""Every table model passes Qt's model tester, filled with realistic rows."""

from __future__ import annotations

import time

from pytestqt.modeltest import ModelTester

from desktop.domain.cluster import (
    BrokerInfo,
    ClusterSnapshot,
    ConfigEntryInfo,
    PartitionInfo,
    ReplicaState,
    TopicInfo,
)
from desktop.domain.health import summarize
from desktop.models.brokers import BrokerRow, BrokersModel
from desktop.models.configs import ConfigsModel
from desktop.models.health import (
    BrokerLoadModel,
    GridRow,
    ProblemPartitionsModel,
    ProblemRow,
    ReplicaGridModel,
)
from desktop.models.partitions import PartitionsModel
from desktop.models.topics import TopicsModel


def _snapshot() -> ClusterSnapshot:
    brokers = tuple(BrokerInfo(i, "127.0.0.1", 9090 + i, f"rack-{i}") for i in (1, 2, 3))
    healthy = tuple(
        PartitionInfo("orders", p, 1 + p % 3, (1, 2, 3), (1, 2, 3), 0, 100 * p) for p in range(6)
    )
    degraded = (
        PartitionInfo("payments", 0, 1, (1, 2, 3), (1,), 5, 50),
        PartitionInfo("payments", 1, -1, (2, 3), (), None, None),
    )
    topics = (
        TopicInfo("orders", healthy, cleanup_policy="delete", min_isr=2),
        TopicInfo("payments", degraded, cleanup_policy="compact", min_isr=2),
        TopicInfo("__consumer_offsets", (), internal=True, cleanup_policy="compact"),
    )
    return ClusterSnapshot("abc", 1, brokers, topics, 2, time.time())


def test_topics_model(qtmodeltester: ModelTester) -> None:
    model = TopicsModel()
    model.set_rows(_snapshot().topics)
    qtmodeltester.check(model)
    model.set_rows(_snapshot().topics[:1])
    qtmodeltester.check(model)
    assert model.rowCount() == 1


def test_partitions_model(qtmodeltester: ModelTester) -> None:
    model = PartitionsModel()
    topic = _snapshot().topics[1]
    model.set_partitions(topic.partitions, topic.min_isr)
    qtmodeltester.check(model)
    assert model.state(0) == ReplicaState.CRITICAL  # ISR 1 < min ISR 2
    assert model.state(1) == ReplicaState.CRITICAL  # no leader


def test_brokers_model(qtmodeltester: ModelTester) -> None:
    model = BrokersModel()
    model.set_rows([BrokerRow(b, b.id == 1, 2, 6) for b in _snapshot().brokers])
    qtmodeltester.check(model)


def test_configs_model(qtmodeltester: ModelTester) -> None:
    model = ConfigsModel()
    model.set_rows(
        [
            ConfigEntryInfo(
                "retention.ms", "1000", "topic override", False, False, False, "604800000"
            ),
            ConfigEntryInfo("cleanup.policy", "delete", "default", True, False, False, "delete"),
            ConfigEntryInfo("sasl.jaas.config", None, "static broker", False, True, True),
        ]
    )
    qtmodeltester.check(model)


def test_health_models(qtmodeltester: ModelTester) -> None:
    snap = _snapshot()
    health = summarize(snap)
    loads = BrokerLoadModel()
    loads.set_rows(health.loads)
    qtmodeltester.check(loads)
    problems = ProblemPartitionsModel()
    problems.set_rows(
        [
            ProblemRow(p, "under-replicated", ReplicaState.UNDER_REPLICATED)
            for p in health.under_replicated
        ]
    )
    qtmodeltester.check(problems)
    grid = ReplicaGridModel()
    rows = [GridRow(p, t.min_isr) for t in snap.topics for p in t.partitions]
    grid.set_grid([1, 2, 3], rows)
    qtmodeltester.check(grid)
    assert grid.columnCount() == 5
    grid.set_grid([1, 2], rows[:3])
    qtmodeltester.check(grid)
    assert grid.columnCount() == 4
