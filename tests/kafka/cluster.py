"""Start real Apache Kafka KRaft clusters on loopback for tests, and always tear them down.

    cluster = start_single()        # one broker+controller node, node id 1
    cluster = start_cluster(3)      # brokers 1..3 plus a one-node controller quorum (id 100)
    cluster.bootstrap, cluster.sasl_bootstrap
    cluster.stop(2); cluster.kill(2); cluster.restart(2); cluster.stop_all()

Every broker listens on PLAINTEXT (also the inter-broker listener) and on SASL_PLAINTEXT with
SCRAM-SHA-512; the SCRAM user is written into the metadata log at storage-format time.
Each JVM runs in its own process group, dies with the Python process (setpriv --pdeathsig),
and is killed by an atexit hook if the cluster was not stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
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
from tests.kafka.node import (
    ACL_PASSWORD,
    ACL_USER,
    HOST,
    SCRAM_MECHANISM,
    SCRAM_PASSWORD,
    SCRAM_USER,
    STOP_TIMEOUT,
    KafkaNode,
    KafkaStartError,
    die_with_parent,
    free_ports,
    new_cluster_id,
    node_properties,
    port_open,
    tail,
)
from tests.tls_certs import make_certs

CONTROLLER_ID = 100
READY_TIMEOUT = 180.0


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

    def __init__(
        self,
        nodes: Sequence[KafkaNode],
        workdir: Path,
        classpath: Path,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        self.nodes = list(nodes)
        # appended to every node's server.properties: a later line wins over the defaults
        self.properties = dict(properties or {})
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
    def sasl_ssl_bootstrap(self) -> str:
        """SASL_SSL (SCRAM-SHA-512) bootstrap list, for clusters started with tls=True."""
        return ",".join(f"{HOST}:{n.sasl_ssl_port}" for n in self.brokers)

    @property
    def ca_file(self) -> Path:
        """The CA certificate that signed the SASL_SSL listeners' certificates."""
        return self.brokers[0].tls_dir / "ca.pem"

    @property
    def sasl_bootstrap(self) -> str:
        """SASL_PLAINTEXT (SCRAM-SHA-512) bootstrap list of every broker."""
        return ",".join(f"{HOST}:{n.sasl_port}" for n in self.brokers)

    def node(self, node_id: int) -> KafkaNode:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(
            f"no node {node_id} in this cluster (nodes: {[n.node_id for n in self.nodes]})"
        )

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
            if n.sasl_ssl_port is not None:
                certs = make_certs(n.tls_dir)  # Kafka reads an unencrypted PEM key with no password
                (n.tls_dir / "server.pem").write_bytes(
                    certs.server_key.read_bytes() + certs.server_cert.read_bytes()
                )
            extra = "".join(f"{key}={value}\n" for key, value in self.properties.items())
            n.config_path.write_text(node_properties(n, voters, len(self.brokers)) + extra)

    def _format_storage(self) -> None:
        """kafka-storage format on every node at once, adding the SCRAM user."""
        scram = f"{SCRAM_MECHANISM}=[name={SCRAM_USER},password={SCRAM_PASSWORD}]"
        procs = []
        for n in self.nodes:
            args = ["format", "-t", self.cluster_id, "-c", str(n.config_path), "--add-scram", scram]
            if n.acl:
                bob = f"{SCRAM_MECHANISM}=[name={ACL_USER},password={ACL_PASSWORD}]"
                args += ["--add-scram", bob]
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
                        die_with_parent(cmd),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    ),
                )
            )
        errors = []
        try:
            for n, p in procs:
                out, _ = p.communicate(timeout=120)
                if p.returncode != 0:
                    errors.append(f"node {n.node_id}: {out.decode(errors='replace')}")
        except subprocess.TimeoutExpired as exc:
            raise KafkaStartError("kafka-storage format did not finish in 120s") from exc
        finally:
            for _, p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
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
                    f"last lines of {n.log_path}:\n{tail(n.log_path)}"
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
            while not port_open(n.plaintext_port):
                self._check_alive()
                if time.monotonic() > deadline:
                    raise KafkaStartError(
                        f"broker {n.node_id} never opened port {n.plaintext_port}; "
                        f"last lines of its log:\n{tail(n.log_path)}"
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
                    f"--- node {n.node_id}\n{tail(n.log_path, 20)}" for n in self.nodes
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


def _build(
    layout: str,
    broker_count: int,
    jvm_opts: Sequence[str] | None,
    *,
    tls: bool = False,
    acl: bool = False,
    properties: Mapping[str, str] | None = None,
) -> KafkaCluster:
    classpath = ensure_classpath()
    workdir = Path(tempfile.mkdtemp(prefix=f"topicscope-kafka-{layout}-"))
    broker_opts = tuple(jvm_opts) if jvm_opts is not None else BROKER_JVM_OPTS
    nodes: list[KafkaNode] = []
    if layout == "single":
        c, p, s, t = free_ports(4)
        nodes.append(
            KafkaNode(
                node_id=1,
                roles=("broker", "controller"),
                workdir=workdir / "node-1",
                controller_port=c,
                plaintext_port=p,
                sasl_port=s,
                sasl_ssl_port=t if tls else None,
                jvm_opts=broker_opts,
                acl=acl,
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
    return KafkaCluster(nodes, workdir, classpath, properties)


def _start_with_retry(
    layout: str,
    broker_count: int,
    jvm_opts: Sequence[str] | None,
    *,
    tls: bool = False,
    acl: bool = False,
    properties: Mapping[str, str] | None = None,
) -> KafkaCluster:
    """Start a cluster; one retry on fresh ports covers a port taken between pick and bind."""
    last: KafkaStartError | None = None
    for _attempt in range(2):
        cluster = _build(layout, broker_count, jvm_opts, tls=tls, acl=acl, properties=properties)
        try:
            cluster._start()
        except KafkaStartError as exc:
            last = exc
            retry = "Address already in use" in str(exc)
            cluster.stop_all(graceful=False, keep_workdir=not retry)
            if not retry:
                raise KafkaStartError(f"{exc}\n(full logs kept in {cluster.workdir})") from exc
            continue
        except BaseException:
            cluster.stop_all(graceful=False)
            raise
        return cluster
    assert last is not None
    raise last


def start_single(
    jvm_opts: Sequence[str] | None = None, *, tls: bool = False, acl: bool = False
) -> KafkaCluster:
    """One combined broker+controller node (id 1) with PLAINTEXT and SCRAM listeners (and,
    with ``tls``, a SASL_SSL SCRAM listener whose CA is ``ca_file``; with ``acl``,
    StandardAuthorizer with super users ANONYMOUS and alice, and a second SCRAM user bob)."""
    return _start_with_retry("single", 1, jvm_opts, tls=tls, acl=acl)


def start_cluster(
    broker_count: int = 3,
    jvm_opts: Sequence[str] | None = None,
    properties: Mapping[str, str] | None = None,
) -> KafkaCluster:
    """`broker_count` brokers (ids 1..n) and a separate one-node controller quorum (id 100);
    `properties` are added to every node's server.properties (controller settings such as
    broker.session.timeout.ms take effect on node 100)."""
    return _start_with_retry("multi", broker_count, jvm_opts, properties=properties)


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
