"""Wrong passwords with the Java CLI (a client.properties) and with kafka-python: the same
bodies against the built-in broker and real Kafka's SCRAM-SHA-512 listener.

The Java tests need java and the cached Kafka classpath, not a running Kafka, for the built-in
broker; the harness skips them where java is missing (and fails under CI=true)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from embedded_broker.runner import BrokerRunner
from tests.kafka.cli import KafkaCli
from tests.kafka.fixtures import KafkaScram

MECHANISM = "SCRAM-SHA-512"
USER = ("alice", "alice-secret")
# What Kafka's SaslServerAuthenticator tells a SCRAM client with a wrong password.
KAFKA_MESSAGE = (
    "Authentication failed during authentication due to invalid credentials with SASL "
    f"mechanism {MECHANISM}"
)
CLI_TIMEOUT = 120
# The admin calls of a CLI that did not learn of the failure would wait this long: far beyond
# CLI_TIMEOUT, so a CLI that finishes at all has failed fast.
CLI_API_TIMEOUT_MS = 600_000
DEADLINE_S = 15.0


@dataclass(frozen=True)
class ScramTarget:
    """A SASL_PLAINTEXT listener with the SCRAM-SHA-512 user alice."""

    bootstrap: str

    def confluent(self) -> dict[str, str | int | float | bool]:
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": MECHANISM,
            "sasl.username": USER[0],
            "sasl.password": USER[1],
        }

    def new_topic(self) -> str:
        topic = f"pw-{uuid.uuid4().hex[:8]}"
        admin = AdminClient(self.confluent())
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(DEADLINE_S)
        return topic


@pytest.fixture(scope="module")
def scram_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    runner = BrokerRunner(
        port=0,
        data_dir=tmp_path_factory.mktemp("wrong-password"),
        config={
            "listeners": "SASL_PLAINTEXT://127.0.0.1:0",
            "sasl.enabled.mechanisms": MECHANISM,
        },
        scram_users=[(MECHANISM, *USER, 4096)],
    )
    runner.start(timeout=30)  # a loaded machine (a Kafka JVM beside it) can be slow
    yield runner
    runner.stop()


@pytest.fixture(params=["builtin", pytest.param("realkafka", marks=pytest.mark.realkafka)])
def target(request: pytest.FixtureRequest) -> ScramTarget:
    if request.param == "builtin":
        runner: BrokerRunner = request.getfixturevalue("scram_broker")
        return ScramTarget(runner.listeners["SASL_PLAINTEXT"].bootstrap)
    kafka: KafkaScram = request.getfixturevalue("kafka_scram")
    assert (kafka.username, kafka.password, kafka.mechanism) == (*USER, MECHANISM)
    return ScramTarget(kafka.bootstrap)


# -- the Java CLI ------------------------------------------------------------------------------


def client_properties(path: Path, password: str) -> Path:
    path.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        f"sasl.mechanism={MECHANISM}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{USER[0]}" password="{password}";\n'
        f"default.api.timeout.ms={CLI_API_TIMEOUT_MS}\n"
    )
    return path


def _list_topics(cli: KafkaCli, target: ScramTarget, props: Path) -> tuple[int, str, str]:
    args = ["--bootstrap-server", target.bootstrap, "--command-config", str(props), "--list"]
    done = cli.run("kafka-topics", args, timeout=CLI_TIMEOUT)
    return done.returncode, done.stdout, done.stderr


def test_java_cli_right_password_lists_and_wrong_password_fails_authentication(
    target: ScramTarget, kafka_cli: KafkaCli, tmp_path: Path
) -> None:
    topic = target.new_topic()
    code, out, err = _list_topics(kafka_cli, target, client_properties(tmp_path / "ok", USER[1]))
    assert code == 0, f"kafka-topics failed with the right password:\n{out}\n{err}"
    assert topic in out.split()

    wrong = client_properties(tmp_path / "wrong", f"not-{USER[1]}")
    code, out, err = _list_topics(kafka_cli, target, wrong)
    assert code != 0, f"kafka-topics listed topics with a wrong password:\n{out}"
    assert f"Error while executing topic command : {KAFKA_MESSAGE}" in out, out + err
    assert f"SaslAuthenticationException: {KAFKA_MESSAGE}" in err
    assert topic not in out.split()
