"""kafka-acls --add/--list/--remove (the Java CLI, SASL via client.properties) on the built-in
broker. Needs java and the cached Kafka classpath, not a running Kafka."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded_broker.runner import BrokerRunner
from tests.kafka.cli import KafkaCli

from .test_acl_clients import ADMIN, start_acl_broker

CLI_TIMEOUT = 120


@pytest.fixture
def acl_broker_dir(tmp_path: Path) -> Iterator[tuple[BrokerRunner, Path]]:
    runner = start_acl_broker(tmp_path / "data")
    props = tmp_path / "client.properties"
    props.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN[0]}" password="{ADMIN[1]}";\n'
    )
    yield runner, props
    runner.stop()


def _acls(cli: KafkaCli, runner: BrokerRunner, props: Path, args: list[str]) -> str:
    common = [
        "--bootstrap-server",
        runner.listeners["SASL_PLAINTEXT"].bootstrap,
        "--command-config",
        str(props),
    ]
    done = cli.run("kafka-acls", [*common, *args], timeout=CLI_TIMEOUT)
    assert done.returncode == 0, f"kafka-acls failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_kafka_acls_add_list_remove(
    acl_broker_dir: tuple[BrokerRunner, Path], kafka_cli: KafkaCli
) -> None:
    runner, props = acl_broker_dir
    entry = "(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)"
    out = _acls(
        kafka_cli,
        runner,
        props,
        ["--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "orders"],
    )
    assert entry in out
    out = _acls(kafka_cli, runner, props, ["--list", "--topic", "orders"])
    assert "ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)" in out
    assert entry in out
    _acls(
        kafka_cli,
        runner,
        props,
        [
            "--remove",
            "--force",
            "--allow-principal",
            "User:bob",
            "--operation",
            "Read",
            "--topic",
            "orders",
        ],
    )
    out = _acls(kafka_cli, runner, props, ["--list", "--topic", "orders"])
    assert entry not in out
