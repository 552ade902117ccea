"""The three-broker test cluster fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from .cluster import Cluster

ClusterFactory = Callable[..., Cluster]


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[ClusterFactory]:
    made: list[Cluster] = []

    def make(
        config: Mapping[str, str] | None = None, racks: Mapping[int, str] | None = None
    ) -> Cluster:
        cluster = Cluster(tmp_path, config, racks)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()


@pytest.fixture
def cluster(cluster_factory: ClusterFactory) -> Cluster:
    return cluster_factory()
