"""The Kafka 4.3.1 admin tools for the quorum, log dirs, features, leader election and
reassignment: the same commands against the built-in broker and a single Kafka node."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.broker_fixtures import RunningBroker
from tests.integration.groups.clients import create_topic
from tests.kafka.cli import KafkaCli

# the tools run in a JVM from the harness's jars
pytestmark = pytest.mark.realkafka

CLI_TIMEOUT = 180


@pytest.fixture(params=["builtin", "kafka"])
def bootstrap(request: pytest.FixtureRequest) -> str:
    if request.param == "kafka":
        return str(request.getfixturevalue("kafka_single").bootstrap)
    broker: RunningBroker = request.getfixturevalue("builtin_broker")
    return broker.bootstrap


def _ok(cli: KafkaCli, name: str, args: list[str]) -> str:
    done = cli.run(name, args, timeout=CLI_TIMEOUT)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _fields(out: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_metadata_quorum_status_and_replication(bootstrap: str, kafka_cli: KafkaCli) -> None:
    status = _fields(
        _ok(
            kafka_cli,
            "kafka-metadata-quorum",
            ["--bootstrap-server", bootstrap, "describe", "--status"],
        )
    )
    leader = status["LeaderId"]
    assert int(status["LeaderEpoch"]) >= 1
    assert status["MaxFollowerLag"] == "0"
    voters = json.loads(status["CurrentVoters"])
    assert [v["id"] for v in voters] == [int(leader)]
    assert len(voters[0]["endpoints"]) == 1
    assert status["CurrentObservers"] == "[]"
    replication = _ok(
        kafka_cli,
        "kafka-metadata-quorum",
        ["--bootstrap-server", bootstrap, "describe", "--replication"],
    )
    [row] = [line.split() for line in replication.splitlines()[1:] if line.strip()]
    assert row[0] == leader and row[-1] == "Leader" and row[3] == "0"  # no lag


def test_log_dirs_describe(bootstrap: str, kafka_cli: KafkaCli) -> None:
    topic = f"cli-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 2)
    out = _ok(
        kafka_cli,
        "kafka-log-dirs",
        ["--bootstrap-server", bootstrap, "--describe", "--topic-list", topic],
    )
    described = json.loads(out.strip().splitlines()[-1])
    [broker] = described["brokers"]
    [log_dir] = broker["logDirs"]
    assert log_dir["error"] is None and log_dir["logDir"]
    assert sorted(p["partition"] for p in log_dir["partitions"]) == [f"{topic}-0", f"{topic}-1"]
    assert not any(p["isFuture"] for p in log_dir["partitions"])


def test_features_describe(bootstrap: str, kafka_cli: KafkaCli) -> None:
    out = _ok(kafka_cli, "kafka-features", ["--bootstrap-server", bootstrap, "describe"])
    features = {
        m["name"]: m["finalized"]
        for m in re.finditer(
            r"Feature: (?P<name>\S+).*FinalizedVersionLevel: (?P<finalized>\S+)", out
        )
    }
    # what both finalize alike: the 4.3 metadata version and the consumer group protocol
    assert features["metadata.version"] == "4.3-IV0"
    assert features["group.version"] == "1"
    assert features["share.version"] == "1"  # share groups (KIP-932)


def test_leader_election_and_reassignment_on_one_node(bootstrap: str, kafka_cli: KafkaCli) -> None:
    topic = f"cli-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 2)
    out = _ok(
        kafka_cli,
        "kafka-leader-election",
        [
            "--bootstrap-server",
            bootstrap,
            "--election-type",
            "preferred",
            "--topic",
            topic,
            "--partition",
            "0",
        ],
    )
    assert f"Valid replica already elected for partitions {topic}-0" in out
    listed = _ok(
        kafka_cli, "kafka-reassign-partitions", ["--bootstrap-server", bootstrap, "--list"]
    )
    assert "No partition reassignments found." in listed
