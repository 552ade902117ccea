"""One Kafka JVM of a harness cluster: its ports, server.properties and process."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from embedded_broker.ports import free_port_run
from tests.kafka.jvm import BROKER_JVM_OPTS, java_command

HOST = "127.0.0.1"
SCRAM_MECHANISM = "SCRAM-SHA-512"
SCRAM_USER = "alice"
SCRAM_PASSWORD = "alice-secret"
# The authorizer node (acl=True): alice is a super user, bob gets only what ACLs give him.
ACL_USER = "bob"
ACL_PASSWORD = "bob-secret"
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
STOP_TIMEOUT = 60.0


def die_with_parent(cmd: list[str]) -> list[str]:
    """Prefix cmd with setpriv so the JVM gets SIGKILL if the Python process dies first.

    An exec-time wrapper rather than preexec_fn: forking with librdkafka threads alive makes
    running Python in the child unsafe.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *cmd] if setpriv else cmd


class KafkaStartError(RuntimeError):
    """A Kafka node did not start or the cluster did not become ready."""


def free_ports(count: int) -> list[int]:
    """Free ports below the ephemeral range (embedded_broker.ports), so a node killed and
    started again finds its port free, not taken by a client's connection."""
    first = free_port_run(HOST, count)
    return list(range(first, first + count))


def new_cluster_id() -> str:
    """A random Kafka Uuid in its base64url string form (22 characters, no padding)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def tail(path: Path, lines: int = 60) -> str:
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
    sasl_ssl_port: int | None = None  # SASL_SSL (SCRAM-SHA-512) listener, when asked for
    acl: bool = False  # StandardAuthorizer on, super users ANONYMOUS (PLAINTEXT) and alice
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
    def tls_dir(self) -> Path:
        """Certificates of the SASL_SSL listener: server.pem (key + chain) and ca.pem."""
        return self.workdir / "tls"

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
                die_with_parent(cmd),
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


def node_properties(node: KafkaNode, voters: str, broker_count: int) -> str:
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
        if node.sasl_ssl_port is not None:
            listeners.append(f"SASL_SSL://{HOST}:{node.sasl_ssl_port}")
            lines += [
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "listener.name.sasl_ssl.ssl.keystore.type=PEM",
                f"listener.name.sasl_ssl.ssl.keystore.location={node.tls_dir / 'server.pem'}",
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
    if node.acl:
        lines += [
            f"authorizer.class.name={STANDARD_AUTHORIZER}",
            # the harness (PLAINTEXT, controller traffic) and alice may do everything
            f"super.users=User:ANONYMOUS;User:{SCRAM_USER}",
        ]
    if node.controller_port is not None:
        listeners.append(f"CONTROLLER://{HOST}:{node.controller_port}")
    lines += [
        f"listeners={','.join(listeners)}",
        "listener.security.protocol.map="
        "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
    ]
    return "\n".join(lines) + "\n"


def port_open(port: int | None) -> bool:
    if port is None:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0
