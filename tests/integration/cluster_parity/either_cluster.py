"""One face for the built-in ``--brokers 3`` cluster and the harness's real 3-broker Kafka, so a
cluster test body runs against both and Kafka stays the ground truth."""

from __future__ import annotations

import contextlib
import os
import signal
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.cluster.local_cluster import (
    LocalCluster,
    start_timeout_s,
    unless_not_yet,
    wait_for,
)
from tests.kafka.cluster import KafkaCluster, start_cluster

# Both kinds run with these (Kafka's defaults are 9000, 2000 and 30000 ms): a killed broker is
# fenced in 3 s, so ten leader kills in a row fit in well under a minute per cluster kind.
SESSION_TIMEOUT_MS = 3000
TIMING = {
    "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "5000",
    # no preferred-leader rebalance of the controller's own (every 300 s, counted from its
    # start on the built-in one): a slow test would see leaders move back behind its back
    # between a broker's return and the preferred election the test asks for itself
    "auto.leader.rebalance.enable": "false",
}
# generous: a JVM restart on a loaded 2-core machine, or a broker replaying its logs
RESTART_TIMEOUT_S = 60.0

PartitionView = tuple[int, list[int], list[int]]  # leader, replicas, ISR


class EitherCluster(Protocol):
    """What a parity test needs from a 3-broker cluster, whichever kind it is."""

    kind: str
    broker_ids: tuple[int, ...]

    def bootstrap(self, without: tuple[int, ...] = ()) -> str: ...
    def address(self, broker_id: int) -> str: ...
    def kill(self, broker_id: int) -> None: ...
    def pause(self, broker_id: int) -> None: ...
    def resume(self, broker_id: int) -> None: ...
    def restart(self, *broker_ids: int, wait: bool = True) -> None: ...
    def wait_registered(self, broker_ids: tuple[int, ...]) -> None: ...
    def partition_dir(self, broker_id: int, topic: str, partition: int) -> Path: ...


class BuiltinCluster:
    """``topicscope-broker --brokers 3``: brokers 101, 102 and 103 in their own processes."""

    kind = "builtin"
    broker_ids: tuple[int, ...] = (101, 102, 103)

    def __init__(self, local: LocalCluster) -> None:
        self.local = local

    def bootstrap(self, without: tuple[int, ...] = ()) -> str:
        return ",".join(self.address(b) for b in self.broker_ids if b not in without)

    def address(self, broker_id: int) -> str:
        node = self.local.node(broker_id)
        return f"{node['host']}:{node['port']}"

    def _pid(self, broker_id: int) -> int:
        # a node started again a moment ago may not have written its pid into cluster.json yet
        pid = wait_for(
            lambda: self.local.node(broker_id)["pid"],
            RESTART_TIMEOUT_S,
            f"broker {broker_id}'s pid in cluster.json",
        )
        return int(pid)

    def kill(self, broker_id: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid(broker_id), signal.SIGKILL)

    def pause(self, broker_id: int) -> None:
        os.kill(self._pid(broker_id), signal.SIGSTOP)

    def resume(self, broker_id: int) -> None:
        os.kill(self._pid(broker_id), signal.SIGCONT)

    def restart(self, *broker_ids: int, wait: bool = True) -> None:
        for broker_id in broker_ids:
            self.local.restart_node(broker_id, wait=False)
        if wait:
            self.wait_registered(broker_ids)

    def wait_registered(self, broker_ids: tuple[int, ...]) -> None:
        wait_for(
            lambda: set(broker_ids) <= registered(self.bootstrap()),
            RESTART_TIMEOUT_S,
            f"brokers {broker_ids} registered again",
        )

    def partition_dir(self, broker_id: int, topic: str, partition: int) -> Path:
        return self.local.data_dir / f"broker-{broker_id}" / f"{topic}-{partition}"


class RealKafkaCluster:
    """The harness's Apache Kafka: brokers 1, 2 and 3 and a controller-only node 100."""

    kind = "kafka"

    def __init__(self, cluster: KafkaCluster) -> None:
        self.cluster = cluster
        self.broker_ids = tuple(cluster.broker_ids)

    def bootstrap(self, without: tuple[int, ...] = ()) -> str:
        return ",".join(self.address(b) for b in self.broker_ids if b not in without)

    def address(self, broker_id: int) -> str:
        return self.cluster.node(broker_id).bootstrap

    def kill(self, broker_id: int) -> None:
        self.cluster.kill(broker_id)

    def pause(self, broker_id: int) -> None:
        self.cluster.node(broker_id).signal(signal.SIGSTOP)

    def resume(self, broker_id: int) -> None:
        self.cluster.node(broker_id).signal(signal.SIGCONT)

    def restart(self, *broker_ids: int, wait: bool = True) -> None:
        for broker_id in broker_ids:
            self.cluster.node(broker_id).start(self.cluster.classpath, self.cluster.log4j_file)
        if wait:
            self.wait_registered(broker_ids)

    def wait_registered(self, broker_ids: tuple[int, ...]) -> None:
        # a JVM starting on a loaded machine: the deadline stretches as wait_for's do
        self.cluster.wait_ready(start_timeout_s(RESTART_TIMEOUT_S))

    def partition_dir(self, broker_id: int, topic: str, partition: int) -> Path:
        return self.cluster.node(broker_id).data_dir / f"{topic}-{partition}"


# ----- shared helpers ---------------------------------------------------------------------------


def quiet(config: Mapping[str, Any]) -> dict[str, Any]:
    """A client config that keeps librdkafka's connection-refused noise out of test output;
    a short socket timeout, so a producer or consumer whose request reached a broker that
    went away (or is starting again) asks another one soon."""
    return {"log_level": 0, "socket.timeout.ms": 5000, **config}


def admin(bootstrap: str) -> AdminClient:
    """An admin client whose requests may take longer: a CreateTopics waits on the controller,
    and 5 s was too short for it on a loaded machine, so the limit stretches with the load as
    local_cluster.admin's does (every metadata probe here bounds its own wait)."""
    timeout_ms = int(start_timeout_s(15) * 1000)
    return AdminClient(quiet({"bootstrap.servers": bootstrap, "socket.timeout.ms": timeout_ms}))


def registered(bootstrap: str) -> set[int]:
    """Broker ids in Metadata (registered and unfenced), or none while nothing answers."""
    try:
        return set(admin(bootstrap).list_topics(timeout=5).brokers)
    except Exception:  # no broker answered yet
        return set()


def partitions(bootstrap: str, topic: str) -> dict[int, PartitionView]:
    """Leader, replicas and ISR by partition ({} while the topic is not known there)."""
    try:
        md = admin(bootstrap).list_topics(topic, timeout=5)
    except Exception:  # the broker asked is down or restarting
        return {}
    found = md.topics.get(topic)
    if found is None or found.error is not None:
        return {}
    return {p.id: (p.leader, list(p.replicas), list(p.isrs)) for p in found.partitions.values()}


def create_topic(cluster: EitherCluster, topic: str, count: int, **config: str) -> None:
    client = admin(cluster.bootstrap())
    futures = client.create_topics([NewTopic(topic, count, 3, config=config)], operation_timeout=15)
    for future in futures.values():
        future.result(timeout=start_timeout_s(20))

    def everywhere() -> bool:
        # every broker, each asked on its own: a broker learns of the topic from the metadata
        # log a moment after the controller answered, and a test's next request may go to any
        for broker in cluster.broker_ids:
            view = partitions(cluster.address(broker), topic)
            if len(view) != count or not all(
                len(isr) == 3 and leader >= 0 for leader, _, isr in view.values()
            ):
                return False
        return True

    wait_for(everywhere, 15, f"{topic}'s {count} partitions with an ISR of 3 on every broker")


def wait_isr(cluster: EitherCluster, topic: str, size: int, timeout_s: float) -> None:
    """Until every partition of ``topic`` has a live leader and an ISR of ``size`` in every
    broker's Metadata (each asked on its own: a broker's image follows the controller's by a
    moment, and the test's next request may go to any of them)."""

    def settled(address: str) -> bool:
        view = partitions(address, topic)
        return bool(view) and all(
            len(isr) == size and leader in isr for leader, _, isr in view.values()
        )

    def views() -> str:
        seen = {b: partitions(cluster.address(b), topic) for b in cluster.broker_ids}
        return f"an ISR of {size} on every partition of {topic}, on every broker; seen: {seen}"

    wait_for(lambda: all(settled(cluster.address(b)) for b in cluster.broker_ids), timeout_s, views)


def high_watermark(cluster: EitherCluster, topic: str, partition: int) -> int:
    """The partition's high watermark as its leader gives it. Right after an election the new
    leader answers OFFSET_NOT_AVAILABLE until its followers' fetches have moved its high
    watermark up to its own epoch (Kafka does, KIP-207): that is "ask again", not a failure."""

    def ask() -> tuple[int] | None:
        consumer = Consumer(quiet({"bootstrap.servers": cluster.bootstrap(), "group.id": "hw"}))
        try:
            return unless_not_yet(
                lambda: (
                    int(
                        consumer.get_watermark_offsets(
                            TopicPartition(topic, partition), timeout=10
                        )[1]
                    ),
                )
            )
        finally:
            consumer.close()

    (high,) = wait_for(ask, 15, f"the high watermark of {topic}[{partition}]")
    return high


_BATCH_HEAD = struct.Struct(">qi")  # baseOffset, batchLength
_LAST_DELTA_AT = 23  # lastOffsetDelta's position in a v2 batch header


def batches(directory: Path) -> Iterator[tuple[int, int, bytes]]:
    """(base offset, last offset, bytes) of every whole batch in a partition's segment files."""
    for segment in sorted(directory.glob("*.log")):
        data = segment.read_bytes()
        at = 0
        while at + _LAST_DELTA_AT + 4 <= len(data):
            base, length = _BATCH_HEAD.unpack_from(data, at)
            end = at + 12 + length
            if length <= 0 or end > len(data):
                break
            (delta,) = struct.unpack_from(">i", data, at + _LAST_DELTA_AT)
            yield base, base + delta, data[at:end]
            at = end


def log_below(directory: Path, offset: int) -> list[tuple[int, int, bytes]]:
    """The batches of a replica that end below ``offset``."""
    return [b for b in batches(directory) if b[1] < offset]


def log_end(directory: Path) -> int:
    return max((last + 1 for _, last, _ in batches(directory)), default=0)


@contextlib.contextmanager
def paused(cluster: EitherCluster, broker_ids: tuple[int, ...]) -> Iterator[None]:
    """SIGSTOP brokers (they neither fetch nor heartbeat) and always SIGCONT them after."""
    for broker_id in broker_ids:
        cluster.pause(broker_id)
    try:
        yield
    finally:
        for broker_id in broker_ids:
            with contextlib.suppress(ProcessLookupError):
                cluster.resume(broker_id)


# ----- the fixture ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def _tuned_kafka() -> Iterator[KafkaCluster]:
    """A real 3-broker Kafka with the TIMING above (on its controller too), shared by the
    parity package's modules: its four JVMs start once, not once per module (each test names
    its own topics, groups and transactional ids, and either_cluster restores every broker
    after it). Torn down with the package, so it does not outlive the parity tests."""
    from tests.kafka.fixtures import _require_harness

    _require_harness()
    cluster = start_cluster(3, properties=TIMING)
    try:
        yield cluster
    finally:
        cluster.stop_all(graceful=False)  # thrown away: no controlled shutdown to wait out


@pytest.fixture(params=["builtin", pytest.param("kafka", marks=pytest.mark.realkafka)])
def either_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EitherCluster]:
    """The built-in cluster (fresh per test) or the package's real Kafka (restored after it)."""
    if request.param == "builtin":
        extra: list[str] = []
        for key, value in TIMING.items():
            extra += ["--config", f"{key}={value}"]
        # the nodes' log kept in the test's directory, for a failure's post-mortem
        local = LocalCluster(tmp_path / "cluster", 3, extra, log_path=tmp_path / "cluster.log")
        try:
            # every broker registered and unfenced, and listed by each (a deadline that
            # stretches on a loaded machine, and says what is missing)
            local.wait_all_active()
            builtin = BuiltinCluster(local)
            builtin.wait_registered(builtin.broker_ids)
            yield builtin
        finally:
            local.discard()
        return
    kafka: KafkaCluster = request.getfixturevalue("_tuned_kafka")
    try:
        yield RealKafkaCluster(kafka)
    finally:
        for node in kafka.nodes:  # a paused JVM left behind by a failed test
            with contextlib.suppress(ProcessLookupError):
                node.signal(signal.SIGCONT)
        kafka.ensure_all_running()
