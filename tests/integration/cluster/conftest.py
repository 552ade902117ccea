"""Fixtures of the local-cluster tests: a real --brokers N cluster per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .local_cluster import LocalCluster


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Callable[..., LocalCluster]]:
    started: list[LocalCluster] = []

    def start(
        brokers: int = 3, extra: list[str] | None = None, log_path: Path | None = None
    ) -> LocalCluster:
        cluster = LocalCluster(
            tmp_path / f"cluster{len(started)}", brokers, extra or [], log_path=log_path
        )
        started.append(cluster)
        cluster.wait_all_active()
        return cluster

    yield start
    for cluster in started:
        cluster.discard()


@pytest.fixture
def three_brokers(cluster_factory: Callable[..., LocalCluster]) -> LocalCluster:
    return cluster_factory(3)
