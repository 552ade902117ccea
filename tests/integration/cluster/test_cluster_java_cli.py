"""The Apache Kafka command-line tools (through the harness) against a real built-in
--brokers 3 cluster: kafka-topics, kafka-console-producer/consumer, kafka-reassign-partitions
and kafka-leader-election, read as a user reads their output."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka.admin import NewTopic

from tests.kafka.cli import KafkaCli

from .local_cluster import LocalCluster, admin, unless_not_yet, wait_for

pytestmark = pytest.mark.realkafka

CLI_TIMEOUT = 180
BROKERS = {101, 102, 103}
# kafka-topics --describe prints one tab-separated line per partition
PARTITION_LINE = re.compile(
    r"^\tTopic: (?P<topic>\S+)\tPartition: (?P<partition>\d+)\tLeader: (?P<leader>-?\d+)\t"
    r"Replicas: (?P<replicas>[\d,]+)\tIsr: (?P<isr>[\d,]*)\t"
)


def _ok(cli: KafkaCli, name: str, args: list[str], stdin: str | None = None) -> str:
    done = cli.run(name, args, input=stdin, timeout=CLI_TIMEOUT)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _describe(cli: KafkaCli, bs: str, topic: str) -> dict[int, tuple[int, list[int], list[int]]]:
    """partition -> (leader, replicas, isr) as kafka-topics --describe prints them."""
    out = _ok(cli, "kafka-topics", ["--bootstrap-server", bs, "--describe", "--topic", topic])
    rows = {}
    for line in out.splitlines():
        match = PARTITION_LINE.match(line)
        if match and match["topic"] == topic:
            rows[int(match["partition"])] = (
                int(match["leader"]),
                [int(r) for r in match["replicas"].split(",")],
                [int(r) for r in match["isr"].split(",") if r],
            )
    return rows


def _metadata(bs: str, topic: str) -> dict[int, tuple[int, list[int], list[int]]]:
    """partition -> (leader, replicas, isr) in Metadata ({} while the broker asked does not
    know the topic or does not answer yet)."""
    md = unless_not_yet(lambda: admin(bs).list_topics(topic, timeout=10))
    if md is None or md.topics[topic].error is not None:
        return {}
    return {p.id: (p.leader, p.replicas, p.isrs) for p in md.topics[topic].partitions.values()}


def _agreed(
    cluster: LocalCluster,
    topic: str,
    check: Callable[[dict[int, tuple[int, list[int], list[int]]]], bool],
    what: str,
) -> dict[int, tuple[int, list[int], list[int]]]:
    """The topic's partitions once every broker's Metadata shows the same view and ``check``
    holds of it: each broker replays a change from the metadata log a moment after the
    controller made it, and a tool asks whichever broker it reaches first."""

    seen: dict[int, object] = {}

    def view() -> dict[int, tuple[int, list[int], list[int]]] | None:
        views = [_metadata(f"127.0.0.1:{cluster.node(b)['port']}", topic) for b in BROKERS]
        seen.update(zip(BROKERS, views, strict=True))
        first = views[0]
        return first if first and all(v == first for v in views) and check(first) else None

    found: dict[int, tuple[int, list[int], list[int]]] = wait_for(
        view, 15, lambda: f"{what}; last seen by broker: {seen}"
    )
    return found


def test_kafka_topics_creates_and_describes_a_replicated_topic_and_console_clients_work(
    three_brokers: LocalCluster, kafka_cli: KafkaCli
) -> None:
    bs = three_brokers.bootstrap()
    out = _ok(
        kafka_cli,
        "kafka-topics",
        [
            "--bootstrap-server",
            bs,
            "--create",
            "--topic",
            "cli3",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ],
    )
    assert "Created topic cli3." in out
    agreed = _agreed(
        three_brokers,
        "cli3",
        lambda v: len(v) == 3 and all(len(p[2]) == 3 for p in v.values()),
        "3 partitions with an ISR of 3 on every broker",
    )
    described = _describe(kafka_cli, bs, "cli3")
    assert described == agreed
    for leader, replicas, isr in described.values():
        assert sorted(replicas) == sorted(BROKERS) and sorted(isr) == sorted(BROKERS)
        assert leader == replicas[0]  # a new topic is led by its preferred replica
    # placement spreads the leaders over the brokers
    assert {row[0] for row in described.values()} == BROKERS
    header = _ok(kafka_cli, "kafka-topics", ["--bootstrap-server", bs, "--describe"])
    assert "PartitionCount: 3\tReplicationFactor: 3" in header
    lines = [f"event {i}" for i in range(20)]
    _ok(
        kafka_cli,
        "kafka-console-producer",
        ["--bootstrap-server", bs, "--topic", "cli3", "--command-property", "acks=all"],
        stdin="\n".join(lines) + "\n",
    )
    out = _ok(
        kafka_cli,
        "kafka-console-consumer",
        [
            "--bootstrap-server",
            bs,
            "--topic",
            "cli3",
            "--from-beginning",
            "--max-messages",
            "20",
            "--timeout-ms",
            "60000",
        ],
    )
    assert sorted(out.splitlines()) == sorted(lines)


def _proposed(generated: str) -> dict[str, object]:
    after = generated.split("Proposed partition reassignment configuration", 1)[1]
    found: dict[str, object] = json.loads(after.strip().splitlines()[0])
    return found


def _reassign(cli: KafkaCli, bs: str, plan: Path, what: str) -> None:
    out = _ok(
        cli,
        "kafka-reassign-partitions",
        ["--bootstrap-server", bs, "--execute", "--reassignment-json-file", str(plan)],
    )
    assert "Successfully started partition reassignment" in out

    def completed() -> bool:
        verified = _ok(
            cli,
            "kafka-reassign-partitions",
            ["--bootstrap-server", bs, "--verify", "--reassignment-json-file", str(plan)],
        )
        done = [line for line in verified.splitlines() if line.startswith("Reassignment of")]
        return bool(done) and all(line.endswith("is completed.") for line in done)

    wait_for(completed, 60, what)


def test_reassign_partitions_generate_execute_verify_and_preferred_leader_election(
    three_brokers: LocalCluster, kafka_cli: KafkaCli, tmp_path: Path
) -> None:
    cluster = three_brokers
    bs = cluster.bootstrap()
    client = admin(bs)
    client.create_topics([NewTopic("moves", 3, 2)], operation_timeout=15)["moves"].result(15)
    _agreed(
        cluster,
        "moves",
        lambda v: len(v) == 3 and all(len(p[2]) == 2 for p in v.values()),
        "3 partitions with an ISR of 2 on every broker",
    )
    topics = tmp_path / "topics.json"
    topics.write_text(json.dumps({"topics": [{"topic": "moves"}], "version": 1}))
    generated = _ok(
        kafka_cli,
        "kafka-reassign-partitions",
        [
            "--bootstrap-server",
            bs,
            "--generate",
            "--topics-to-move-json-file",
            str(topics),
            "--broker-list",
            "102,103",
        ],
    )
    assert "Current partition replica assignment" in generated
    proposal = _proposed(generated)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(proposal))
    _reassign(kafka_cli, bs, plan, "the reassignment to 102 and 103 verified complete")
    wanted = {p["partition"]: p["replicas"] for p in proposal["partitions"]}  # type: ignore[attr-defined]
    _agreed(
        cluster,
        "moves",
        lambda v: {p: row[1] for p, row in v.items()} == wanted,
        "every broker's Metadata to show the proposed replicas",
    )
    described = _describe(kafka_cli, bs, "moves")
    assert {p: row[1] for p, row in described.items()} == wanted
    assert all(sorted(row[1]) == [102, 103] for row in described.values())
    # broker 101 holds no replica of the topic any more: no files either
    wait_for(
        lambda: not list((cluster.data_dir / "broker-101").glob("moves-*")),
        10,
        "broker 101's moves directories removed",
    )
    # put the leader of partition 0 second: it keeps leading until a preferred election
    leader, replicas, _ = described[0]
    reordered = [r for r in replicas if r != leader] + [leader]
    order = tmp_path / "order.json"
    order.write_text(
        json.dumps(
            {
                "version": 1,
                "partitions": [{"topic": "moves", "partition": 0, "replicas": reordered}],
            }
        )
    )
    _reassign(kafka_cli, bs, order, "the new replica order verified complete")
    _agreed(
        cluster,
        "moves",
        lambda v: v[0][:2] == (leader, reordered),
        f"every broker to show replicas {reordered} of moves-0, still led by {leader}",
    )
    out = _ok(
        kafka_cli,
        "kafka-leader-election",
        ["--bootstrap-server", bs, "--election-type", "PREFERRED", "--all-topic-partitions"],
    )
    assert "Successfully completed leader election (PREFERRED) for partitions" in out
    assert "moves-0" in out
    _agreed(
        cluster,
        "moves",
        lambda v: v[0][0] == reordered[0],
        f"every broker to show moves-0 led by {reordered[0]}",
    )
    assert _describe(kafka_cli, bs, "moves")[0][0] == reordered[0]
    again = _ok(
        kafka_cli,
        "kafka-leader-election",
        [
            "--bootstrap-server",
            bs,
            "--election-type",
            "PREFERRED",
            "--topic",
            "moves",
            "--partition",
            "0",
        ],
    )
    assert "Valid replica already elected for partitions moves-0" in again
