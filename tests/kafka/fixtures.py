"""pytest fixtures for real Apache Kafka: kafka_single, kafka_scram, kafka_acl, kafka_cluster3,
kafka_cli.

Tests using them must be marked `realkafka`. Without java (or without mvn and no cached jars)
they skip with the reason; with CI=true they fail instead. When a test fails, the logs of every
running harness cluster are copied to test-logs/<test-id>/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kafka.classpath import (
    KAFKA_VERSION,
    HarnessUnavailableError,
    ensure_classpath,
    require_java17,
)
from tests.kafka.cli import KafkaCli, default_cli
from tests.kafka.cluster import KafkaCluster, live_clusters, start_cluster, start_single
from tests.kafka.node import (
    ACL_PASSWORD,
    ACL_USER,
    SCRAM_MECHANISM,
    SCRAM_PASSWORD,
    SCRAM_USER,
)

# What confluent-kafka accepts as a configuration mapping.
ClientConfig = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class KafkaSingle:
    """One combined broker+controller node; `bootstrap` is its PLAINTEXT listener."""

    bootstrap: str
    cluster: KafkaCluster

    def client_config(self) -> ClientConfig:
        return {"bootstrap.servers": self.bootstrap}


@dataclass(frozen=True)
class KafkaScram:
    """The single node's SASL_PLAINTEXT listener with a SCRAM-SHA-512 user."""

    bootstrap: str
    username: str
    password: str
    mechanism: str
    cluster: KafkaCluster
    security_protocol: str = "SASL_PLAINTEXT"

    def client_config(self, password: str | None = None) -> ClientConfig:
        """confluent-kafka settings for this listener (optionally with another password)."""
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password if password is None else password,
        }


@dataclass(frozen=True)
class KafkaCluster3:
    """Three brokers (ids 1, 2, 3) and a one-node controller quorum.

    Shared by the whole session: a test may stop, kill or restart brokers; the harness starts
    any stopped broker again after the test and waits until all three are registered.
    """

    bootstrap: str
    sasl_bootstrap: str
    broker_ids: tuple[int, ...]
    cluster: KafkaCluster

    def client_config(self) -> ClientConfig:
        return {"bootstrap.servers": self.bootstrap}

    def stop(self, broker_id: int) -> None:
        self.cluster.stop(broker_id)

    def kill(self, broker_id: int) -> None:
        self.cluster.kill(broker_id)

    def start(self, broker_id: int) -> None:
        self.cluster.start_node(broker_id)

    def restart(self, broker_id: int) -> None:
        self.cluster.restart(broker_id)


def _require_harness() -> Path:
    """The cached Kafka classpath, or skip (fail under CI=true) when java/mvn are missing."""
    try:
        require_java17()
        return ensure_classpath()
    except HarnessUnavailableError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc} (CI=true, so the real-Kafka tests may not skip)", pytrace=False)
        pytest.skip(str(exc))


# The running shared 3-broker cluster, for the teardown hook that restores it.
_shared: dict[str, KafkaCluster] = {}
_startup_times: dict[str, float] = {}


@pytest.fixture(scope="session")
def kafka_cli() -> KafkaCli:
    _require_harness()
    return default_cli()


@pytest.fixture(scope="session")
def _kafka_single_node() -> Iterator[KafkaCluster]:
    _require_harness()
    cluster = start_single()
    _startup_times["single node"] = cluster.startup_seconds
    try:
        yield cluster
    finally:
        cluster.stop_all(graceful=False)  # thrown away: no controlled shutdown to wait out


@pytest.fixture(scope="session")
def kafka_single(_kafka_single_node: KafkaCluster) -> KafkaSingle:
    return KafkaSingle(bootstrap=_kafka_single_node.bootstrap, cluster=_kafka_single_node)


@pytest.fixture(scope="session")
def kafka_scram(_kafka_single_node: KafkaCluster) -> KafkaScram:
    return KafkaScram(
        bootstrap=_kafka_single_node.sasl_bootstrap,
        username=SCRAM_USER,
        password=SCRAM_PASSWORD,
        mechanism=SCRAM_MECHANISM,
        cluster=_kafka_single_node,
    )


@dataclass(frozen=True)
class KafkaAcl:
    """A single node with StandardAuthorizer: SCRAM-SHA-512 on ``bootstrap`` (SASL_PLAINTEXT),
    super user ``admin`` (alice), plain user ``user`` (bob, only what ACLs allow)."""

    bootstrap: str
    admin: tuple[str, str]
    user: tuple[str, str]
    cluster: KafkaCluster
    mechanism: str = SCRAM_MECHANISM

    def client_config(self, who: tuple[str, str]) -> ClientConfig:
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": self.mechanism,
            "sasl.username": who[0],
            "sasl.password": who[1],
        }


@pytest.fixture(scope="session")
def kafka_acl() -> Iterator[KafkaAcl]:
    _require_harness()
    cluster = start_single(acl=True)
    _startup_times["authorizer node"] = cluster.startup_seconds
    try:
        yield KafkaAcl(
            bootstrap=cluster.sasl_bootstrap,
            admin=(SCRAM_USER, SCRAM_PASSWORD),
            user=(ACL_USER, ACL_PASSWORD),
            cluster=cluster,
        )
    finally:
        cluster.stop_all(graceful=False)  # thrown away: no controlled shutdown to wait out


@pytest.fixture(scope="session")
def kafka_cluster3() -> Iterator[KafkaCluster3]:
    _require_harness()
    cluster = start_cluster(3)
    _startup_times["3-broker cluster"] = cluster.startup_seconds
    _shared["cluster3"] = cluster
    try:
        yield KafkaCluster3(
            bootstrap=cluster.bootstrap,
            sasl_bootstrap=cluster.sasl_bootstrap,
            broker_ids=tuple(cluster.broker_ids),
            cluster=cluster,
        )
    finally:
        _shared.pop("cluster3", None)
        cluster.stop_all(graceful=False)  # thrown away: no controlled shutdown to wait out


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Restore the shared 3-broker cluster if the test left a broker stopped."""
    cluster = _shared.get("cluster3")
    if cluster is not None and "kafka_cluster3" in getattr(item, "fixturenames", ()):
        cluster.ensure_all_running()


def _uses_harness(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    harness = {"kafka_single", "kafka_scram", "kafka_acl", "kafka_cluster3", "kafka_cli"}
    return bool(names & harness) or item.get_closest_marker("realkafka") is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep broker logs of failing tests in test-logs/<test-id>/."""
    report = yield
    if report.failed and _uses_harness(item):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")
        destination = item.config.rootpath / "test-logs" / safe
        for index, cluster in enumerate(live_clusters()):
            cluster.copy_logs(destination / f"cluster-{index}-{cluster.workdir.name}")
        if live_clusters():
            report.sections.append(("kafka logs", f"broker logs copied to {destination}"))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _startup_times:
        parts = ", ".join(f"{name} {secs:.1f}s" for name, secs in _startup_times.items())
        terminalreporter.write_line(f"real Kafka {KAFKA_VERSION} start-up: {parts}")
