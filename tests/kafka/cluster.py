"""Start real Apache Kafka KRaft clusters on loopback for tests, and always tear them down.

    cluster = start_single()        # one broker+controller node, node id 1
    cluster = start_cluster(3)      # brokers 1..3 plus a one-node controller quorum (id 100)
    cluster.bootstrap, cluster.sasl_bootstrap
    cluster.stop(2); cluster.kill(2); cluster.restart(2); cluster.stop_all()

Every broker listens on PLAINTEXT (also the inter-broker listener) and on SASL_PLAINTEXT with
SCRAM-SHA-512; the SCRAM user is written into the metadata log at storage-format time.
Each JVM runs in its own process group, dies with the Python process (PR_SET_PDEATHSIG), and
is killed by an atexit hook if the cluster was not stopped.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient

from tests.kafka.classpath import ensure_classpath
from tests.kafka.jvm import (
    BROKER_JVM_OPTS,
    BROKER_LOG4J2,
    CONTROLLER_JVM_OPTS,
    TOOLS_LOG4J2,
    java_command,
    log4j_config,
)

HOST = "127.0.0.1"
SCRAM_MECHANISM = "SCRAM-SHA-512"
SCRAM_USER = "alice"
SCRAM_PASSWORD = "alice-secret"
CONTROLLER_ID = 100
READY_TIMEOUT = 180.0
STOP_TIMEOUT = 60.0


def _die_with_parent(cmd: list[str]) -> list[str]:
    """Prefix cmd with setpriv so the JVM gets SIGKILL if the Python process dies first.

    An exec-time wrapper rather than preexec_fn: forking with librdkafka threads alive makes
    running Python in the child unsafe.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *cmd] if setpriv else cmd


class KafkaStartError(RuntimeError):
    """A Kafka node did not start or the cluster did not become ready."""


def free_ports(count: int) -> list[int]:
    """Ports the kernel reports free right now (held open together so they are distinct)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def new_cluster_id() -> str:
    """A random Kafka Uuid in its base64url string form (22 characters, no padding)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class KafkaNode:
    """One Kafka JVM: a broker, a controller, or both (combined mode)."""

    node_id: int
    roles: tuple[str, ...]
    workdir: Path
    controller_port: int | None = None
    plaintext_port: int | None = None
    sasl_port: int | None = None
    jvm_opts: tuple[str, ...] = BROKER_JVM_OPTS
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    stopped_on_purpose: bool = False

    @property
    def is_broker(self) -> bool:
        return "broker" in self.roles

    @property
    def config_path(self) -> Path:
        return self.workdir / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.plaintext_port}"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, classpath: Path, log4j_file: Path) -> None:
        if self.running():
            raise KafkaStartError(f"node {self.node_id} is already running")
        cmd = java_command(
            classpath,
            "kafka.Kafka",
            [str(self.config_path)],
            jvm_opts=self.jvm_opts,
            log4j_file=log4j_file,
        )
        self.stopped_on_purpose = False
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== harness: starting node {self.node_id} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                _die_with_parent(cmd),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal(self, sig: int) -> None:
        if sig in (signal.SIGTERM, signal.SIGKILL):
            self.stopped_on_purpose = True
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def wait_exit(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Graceful shutdown (SIGTERM, controlled shutdown); SIGKILL if it takes too long."""
        self.signal(signal.SIGTERM)
        if not self.wait_exit(timeout):
            self.kill()

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait_exit(30)


def _node_properties(node: KafkaNode, voters: str, broker_count: int) -> str:
    replication = min(3, broker_count)
    lines = [
        f"node.id={node.node_id}",
        f"process.roles={','.join(node.roles)}",
        f"controller.quorum.voters={voters}",
        "controller.listener.names=CONTROLLER",
        f"log.dirs={node.data_dir}",
    ]
    listeners = []
    if node.is_broker:
        listeners += [
            f"PLAINTEXT://{HOST}:{node.plaintext_port}",
            f"SASL_PLAINTEXT://{HOST}:{node.sasl_port}",
        ]
        lines += [
            f"advertised.listeners={','.join(listeners)}",
            "inter.broker.listener.name=PLAINTEXT",
            f"sasl.enabled.mechanisms={SCRAM_MECHANISM}",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            f"offsets.topic.replication.factor={replication}",
            "offsets.topic.num.partitions=5",
            f"transaction.state.log.replication.factor={replication}",
            f"transaction.state.log.min.isr={min(2, replication)}",
            "transaction.state.log.num.partitions=5",
            f"share.coordinator.state.topic.replication.factor={replication}",
            f"share.coordinator.state.topic.min.isr={min(2, replication)}",
            "group.initial.rebalance.delay.ms=0",
            # A stopped or killed broker leaves the ISR within seconds, not half a minute.
            "replica.lag.time.max.ms=5000",
            "broker.heartbeat.interval.ms=1000",
            "broker.session.timeout.ms=6000",
            "controlled.shutdown.enable=true",
            "auto.create.topics.enable=true",
            "num.network.threads=2",
            "num.io.threads=4",
            "background.threads=4",
            "log.flush.interval.messages=9223372036854775807",
        ]
    if node.controller_port is not None:
        listeners.append(f"CONTROLLER://{HOST}:{node.controller_port}")
    lines += [
        f"listeners={','.join(listeners)}",
        "listener.security.protocol.map="
        "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
    ]
    return "\n".join(lines) + "\n"


_LIVE: set[KafkaCluster] = set()
_LIVE_LOCK = threading.Lock()


def live_clusters() -> list[KafkaCluster]:
    with _LIVE_LOCK:
        return list(_LIVE)


@atexit.register
def _kill_leftovers() -> None:
    for cluster in live_clusters():
        cluster.stop_all(graceful=False)


class KafkaCluster:
    """A running KRaft cluster of `KafkaNode`s; create it with start_single / start_cluster."""

    def __init__(self, nodes: Sequence[KafkaNode], workdir: Path, classpath: Path) -> None:
        self.nodes = list(nodes)
        self.workdir = workdir
        self.classpath = classpath
        self.cluster_id = new_cluster_id()
        self.log4j_file = log4j_config(workdir, "log4j2.properties", BROKER_LOG4J2)
        self.tools_log4j_file = log4j_config(workdir, "tools-log4j2.properties", TOOLS_LOG4J2)
        self.startup_seconds = 0.0

    # ----- addresses -------------------------------------------------------------------------
    @property
    def brokers(self) -> list[KafkaNode]:
        return [n for n in self.nodes if n.is_broker]

    @property
    def broker_ids(self) -> list[int]:
        return [n.node_id for n in self.brokers]

    @property
    def bootstrap(self) -> str:
        """PLAINTEXT bootstrap list of every broker."""
        return ",".join(f"{HOST}:{n.plaintext_port}" for n in self.brokers)

    @property
    def sasl_bootstrap(self) -> str:
        """SASL_PLAINTEXT (SCRAM-SHA-512) bootstrap list of every broker."""
        return ",".join(f"{HOST}:{n.sasl_port}" for n in self.brokers)

    def node(self, node_id: int) -> KafkaNode:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(f"no node {node_id} in this cluster (nodes: {self.broker_ids})")

    def log_files(self) -> dict[int, Path]:
        return {n.node_id: n.log_path for n in self.nodes}

    # ----- lifecycle -------------------------------------------------------------------------
    def _write_configs(self) -> None:
        voters = ",".join(
            f"{n.node_id}@{HOST}:{n.controller_port}"
            for n in self.nodes
            if n.controller_port is not None
        )
        for n in self.nodes:
            n.workdir.mkdir(parents=True, exist_ok=True)
            n.config_path.write_text(_node_properties(n, voters, len(self.brokers)))

    def _format_storage(self) -> None:
        """kafka-storage format on every node at once, adding the SCRAM user."""
        scram = f"{SCRAM_MECHANISM}=[name={SCRAM_USER},password={SCRAM_PASSWORD}]"
        procs = []
        for n in self.nodes:
            args = ["format", "-t", self.cluster_id, "-c", str(n.config_path), "--add-scram", scram]
            cmd = java_command(
                self.classpath,
                "kafka.tools.StorageTool",
                args,
                jvm_opts=("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"),
                log4j_file=self.tools_log4j_file,
            )
            procs.append(
                (
                    n,
                    subprocess.Popen(
                        _die_with_parent(cmd),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    ),
                )
            )
        errors = []
        for n, p in procs:
            out, _ = p.communicate(timeout=120)
            if p.returncode != 0:
                errors.append(f"node {n.node_id}: {out.decode(errors='replace')}")
        if errors:
            raise KafkaStartError("kafka-storage format failed:\n" + "\n".join(errors))

    def _start(self) -> None:
        started = time.monotonic()
        with _LIVE_LOCK:
            _LIVE.add(self)
        self._write_configs()
        self._format_storage()
        # Controllers first so brokers find the quorum on their first attempt.
        for n in sorted(self.nodes, key=lambda n: n.is_broker):
            n.start(self.classpath, self.log4j_file)
        self.wait_ready()
        self.startup_seconds = time.monotonic() - started

    def _check_alive(self) -> None:
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is not None and not n.stopped_on_purpose:
                raise KafkaStartError(
                    f"Kafka node {n.node_id} exited with code {n.proc.returncode}; "
                    f"last lines of {n.log_path}:\n{_tail(n.log_path)}"
                )

    def admin(self, **extra: str) -> AdminClient:
        """An AdminClient on the PLAINTEXT listeners of the running brokers."""
        running = [n for n in self.brokers if n.running()] or self.brokers
        conf: dict[str, str | int | float | bool] = {
            "bootstrap.servers": ",".join(n.bootstrap for n in running),
            "log_level": "0",
            **extra,
        }
        return AdminClient(conf)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until every running broker is registered and unfenced (seen in metadata)."""
        expected = {n.node_id for n in self.brokers if n.running()}
        deadline = time.monotonic() + timeout
        # Wait for listening sockets first: cheaper than metadata requests to dead ports.
        for n in self.brokers:
            if n.node_id not in expected:
                continue
            while not _port_open(n.plaintext_port):
                self._check_alive()
                if time.monotonic() > deadline:
                    raise KafkaStartError(
                        f"broker {n.node_id} never opened port {n.plaintext_port}; "
                        f"last lines of its log:\n{_tail(n.log_path)}"
                    )
                time.sleep(0.1)
        admin = self.admin()
        seen: set[int] = set()
        while True:
            self._check_alive()
            try:
                md = admin.list_topics(timeout=5)
                seen = set(md.brokers)
            except Exception:  # not ready yet; keep polling until the deadline
                seen = set()
            if seen == expected:
                return
            if time.monotonic() > deadline:
                tails = "\n".join(
                    f"--- node {n.node_id}\n{_tail(n.log_path, 20)}" for n in self.nodes
                )
                raise KafkaStartError(
                    f"cluster not ready after {timeout:.0f}s: brokers {sorted(seen)} registered, "
                    f"expected {sorted(expected)}\n{tails}"
                )
            time.sleep(0.2)

    def stop(self, broker_id: int, timeout: float = STOP_TIMEOUT) -> None:
        """Gracefully stop one node (SIGTERM → controlled shutdown)."""
        self.node(broker_id).stop(timeout)

    def kill(self, broker_id: int) -> None:
        """SIGKILL one node (kill -9): no controlled shutdown."""
        self.node(broker_id).kill()

    def start_node(self, broker_id: int, timeout: float = READY_TIMEOUT) -> None:
        """Start a stopped node again with the same id, ports and data; wait until registered."""
        self.node(broker_id).start(self.classpath, self.log4j_file)
        self.wait_ready(timeout)

    def restart(self, broker_id: int, timeout: float = READY_TIMEOUT) -> None:
        node = self.node(broker_id)
        if node.running():
            node.stop()
        self.start_node(broker_id, timeout)

    def ensure_all_running(self, timeout: float = READY_TIMEOUT) -> None:
        """Bring back any stopped node and wait until the full cluster is ready."""
        stopped = [n for n in self.nodes if not n.running()]
        for n in sorted(stopped, key=lambda n: n.is_broker):
            n.start(self.classpath, self.log4j_file)
        if stopped:
            self.wait_ready(timeout)

    def stop_all(self, graceful: bool = True, keep_workdir: bool = False) -> None:
        """Stop every node (brokers first, then controllers) and delete the work dir."""
        try:
            brokers = [n for n in self.nodes if n.is_broker and n.running()]
            others = [n for n in self.nodes if not n.is_broker and n.running()]
            for group in (brokers, others):
                sig = signal.SIGTERM if graceful else signal.SIGKILL
                for n in group:
                    n.signal(sig)
                for n in group:
                    if not n.wait_exit(30 if graceful else 10):
                        n.kill()
        finally:
            for n in self.nodes:
                if n.running():
                    n.kill()
            with _LIVE_LOCK:
                _LIVE.discard(self)
            if not keep_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def copy_logs(self, destination: Path) -> list[Path]:
        """Copy every node's log file (and config) into destination; returns the copies."""
        destination.mkdir(parents=True, exist_ok=True)
        copied = []
        for n in self.nodes:
            for src, name in (
                (n.log_path, f"node-{n.node_id}.log"),
                (n.config_path, f"node-{n.node_id}.properties"),
            ):
                if src.is_file():
                    shutil.copyfile(src, destination / name)
                    copied.append(destination / name)
        return copied

    def __enter__(self) -> KafkaCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def _port_open(port: int | None) -> bool:
    if port is None:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def _build(layout: str, broker_count: int, jvm_opts: Sequence[str] | None) -> KafkaCluster:
    classpath = ensure_classpath()
    workdir = Path(tempfile.mkdtemp(prefix=f"topicscope-kafka-{layout}-"))
    broker_opts = tuple(jvm_opts) if jvm_opts is not None else BROKER_JVM_OPTS
    nodes: list[KafkaNode] = []
    if layout == "single":
        c, p, s = free_ports(3)
        nodes.append(
            KafkaNode(
                node_id=1,
                roles=("broker", "controller"),
                workdir=workdir / "node-1",
                controller_port=c,
                plaintext_port=p,
                sasl_port=s,
                jvm_opts=broker_opts,
            )
        )
    else:
        ports = iter(free_ports(1 + 2 * broker_count))
        nodes.append(
            KafkaNode(
                node_id=CONTROLLER_ID,
                roles=("controller",),
                workdir=workdir / f"node-{CONTROLLER_ID}",
                controller_port=next(ports),
                jvm_opts=CONTROLLER_JVM_OPTS,
            )
        )
        for i in range(1, broker_count + 1):
            nodes.append(
                KafkaNode(
                    node_id=i,
                    roles=("broker",),
                    workdir=workdir / f"node-{i}",
                    plaintext_port=next(ports),
                    sasl_port=next(ports),
                    jvm_opts=broker_opts,
                )
            )
    return KafkaCluster(nodes, workdir, classpath)


def _start_with_retry(
    layout: str, broker_count: int, jvm_opts: Sequence[str] | None
) -> KafkaCluster:
    """Start a cluster; one retry on fresh ports covers a port taken between pick and bind."""
    last: KafkaStartError | None = None
    for _attempt in range(2):
        cluster = _build(layout, broker_count, jvm_opts)
        try:
            cluster._start()
        except KafkaStartError as exc:
            last = exc
            cluster.stop_all(graceful=False)
            if "Address already in use" not in str(exc):
                raise
            continue
        except BaseException:
            cluster.stop_all(graceful=False)
            raise
        return cluster
    assert last is not None
    raise last


def start_single(jvm_opts: Sequence[str] | None = None) -> KafkaCluster:
    """One combined broker+controller node (id 1) with PLAINTEXT and SCRAM listeners."""
    return _start_with_retry("single", 1, jvm_opts)


def start_cluster(broker_count: int = 3, jvm_opts: Sequence[str] | None = None) -> KafkaCluster:
    """`broker_count` brokers (ids 1..n) and a separate one-node controller quorum (id 100)."""
    return _start_with_retry("multi", broker_count, jvm_opts)


@contextlib.contextmanager
def running_cluster(broker_count: int = 1) -> Iterator[KafkaCluster]:
    """Context manager for scripts and benchmarks: a started cluster, always torn down."""
    cluster = start_single() if broker_count == 1 else start_cluster(broker_count)
    try:
        yield cluster
    finally:
        cluster.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tests.kafka.cluster [BROKERS]`: run a cluster until Ctrl-C (for manual use)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("brokers", nargs="?", type=int, default=1, help="1 (combined node) or more")
    brokers = parser.parse_args(argv).brokers
    with running_cluster(brokers) as cluster:
        print(f"PLAINTEXT       {cluster.bootstrap}")
        user = f"{SCRAM_MECHANISM} {SCRAM_USER}/{SCRAM_PASSWORD}"
        print(f"SASL_PLAINTEXT  {cluster.sasl_bootstrap}  ({user})")
        print(f"logs            {cluster.workdir}   (started in {cluster.startup_seconds:.1f}s)")
        print("Ctrl-C stops the cluster.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
