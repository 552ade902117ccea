"""A local cluster: registration, placement, fencing of a killed broker, its return, a dead
controller, and a clean stop of the whole cluster."""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import ElectionType, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import NewTopic
from kio.schema.describe_topic_partitions.v0 import request as dtp

from tests.integration.groups.wire import WireClient

from .leader_watch import LeaderWatch, session_expiry
from .local_cluster import (
    HEARTBEAT_MS,
    SESSION_TIMEOUT_MS,
    START_TIMEOUT_S,
    LocalCluster,
    admin,
    load_factor,
    metadata_brokers,
    processes_gone,
    start_timeout_s,
    unless_not_yet,
    wait_for,
)

BROKERS = {101, 102, 103}


def _create(bootstrap: str, topic: NewTopic) -> None:
    client = admin(bootstrap)
    for fut in client.create_topics([topic], operation_timeout=15).values():
        fut.result(timeout=15)


def _address(cluster: LocalCluster, broker: int) -> str:
    return f"127.0.0.1:{cluster.node(broker)['port']}"


def _partitions(bootstrap: str, topic: str) -> dict[int, tuple[int, list[int], list[int]]]:
    """Leader, replicas and ISR by partition ({} while the topic is not known there, or while
    the broker asked does not answer yet)."""
    md = unless_not_yet(lambda: admin(bootstrap).list_topics(timeout=10))
    if md is None or topic not in md.topics or md.topics[topic].error is not None:
        return {}
    return {p.id: (p.leader, p.replicas, p.isrs) for p in md.topics[topic].partitions.values()}


def test_three_brokers_register_and_cluster_json_lists_them(three_brokers: LocalCluster) -> None:
    info = three_brokers.info()
    assert info["controller"]["id"] == 100
    assert info["controller"]["port"] not in {b["port"] for b in info["brokers"]}
    assert {b["id"] for b in info["brokers"]} == BROKERS
    for node in [info["controller"], *info["brokers"]]:
        assert node["state"] == "active"
        os.kill(node["pid"], 0)  # a live process of its own
    assert len({n["pid"] for n in [info["controller"], *info["brokers"]]}) == 4
    # a broker learns the others from the metadata log it follows: a moment after they register
    wait_for(
        lambda: metadata_brokers(three_brokers.bootstrap()) == BROKERS,
        10,
        "every broker in Metadata",
    )
    bs = three_brokers.bootstrap()
    md = wait_for(lambda: unless_not_yet(lambda: admin(bs).list_topics(timeout=10)), 10, "Metadata")
    assert md.cluster_id == info["cluster_id"]


def test_rf3_topic_spreads_leaders_over_the_brokers(three_brokers: LocalCluster) -> None:
    bs = three_brokers.bootstrap()
    _create(bs, NewTopic("spread", 6, 3))
    parts = wait_for(lambda: _partitions(bs, "spread"), 10, "the topic in Metadata")
    assert len(parts) == 6
    for leader, replicas, isr in parts.values():
        assert sorted(replicas) == sorted(BROKERS)
        assert sorted(isr) == sorted(BROKERS)
        assert leader == replicas[0]
    assert Counter(leader for leader, _, _ in parts.values()) == {101: 2, 102: 2, 103: 2}
    # every broker answers with the same view
    for broker in BROKERS:
        other = f"127.0.0.1:{three_brokers.node(broker)['port']}"
        wait_for(lambda o=other: _partitions(o, "spread") == parts, 15, f"broker {broker}'s view")
    with pytest.raises(KafkaException, match="INVALID_REPLICATION_FACTOR"):
        _create(bs, NewTopic("too-many", 1, 4))
    # ElectLeaders is forwarded to the controller: the preferred replica already leads
    client = admin(bs)
    tp = TopicPartition("spread", 0)
    result = client.elect_leaders(ElectionType.PREFERRED, [tp]).result(timeout=start_timeout_s(10))
    assert result[tp].code() == KafkaError.ELECTION_NOT_NEEDED


def test_killed_broker_is_fenced_its_leaders_move_and_it_comes_back(
    cluster_factory: Callable[..., LocalCluster], tmp_path: Path
) -> None:
    log_path = tmp_path / "cluster.log"
    three_brokers = cluster_factory(3, log_path=log_path)
    bs = three_brokers.bootstrap()
    _create(bs, NewTopic("failover", 6, 3))
    wait_for(lambda: _partitions(bs, "failover"), 10, "the topic in Metadata")
    victim = 101
    watch = LeaderWatch(
        {b: _address(three_brokers, b) for b in BROKERS - {victim}}, "failover", victim
    )
    three_brokers.kill(victim)
    wait_for(
        lambda: three_brokers.states()[victim] == "fenced",
        SESSION_TIMEOUT_MS / 1000 + 5,
        "the killed broker to be fenced in cluster.json",
    )
    # not before the session timeout: the controller fenced it for a silence longer than that,
    # counted from its last heartbeat (on a loaded machine that may have come well before the
    # kill, so the time since the kill alone proves nothing)
    silence = re.compile(rf"Broker {victim} sent no heartbeat for (\d+) ms; fencing it")
    fenced = wait_for(
        lambda: silence.findall(log_path.read_text(errors="replace")),
        10,
        "the controller's log of the fencing",
    )
    assert all(int(ms) > SESSION_TIMEOUT_MS for ms in fenced), fenced
    # and soon after it: the controller fences at the expiry (not at a periodic check), and
    # every survivor answers Metadata with the new leaders within a heartbeat interval and a
    # second of it (the time it takes on an idle machine is ~50 ms: a write, a long-poll
    # answer, an apply); measured from each broker's own answers, asked every 10 ms
    wait_for(lambda: len(watch.seen) == len(BROKERS) - 1, 15, "every survivor's new leaders")
    watch.stop()
    expiry = session_expiry(log_path, victim, SESSION_TIMEOUT_MS)
    assert expiry is not None
    bound_s = (HEARTBEAT_MS / 1000 + 1.0) * load_factor()
    assert all(t > expiry for t in watch.seen.values()), (expiry, watch.seen)
    late = {b: round(t - expiry, 3) for b, t in watch.seen.items() if t - expiry > bound_s}
    assert not late, f"new leaders in Metadata this long after the session expiry: {late}"
    survivors = three_brokers.bootstrap(without=victim)

    def caught_up(address: str) -> bool:
        """The fencing, and the leaders and ISRs it changed, in this broker's Metadata."""
        parts = _partitions(address, "failover")
        return (
            metadata_brokers(address) == BROKERS - {victim}
            and len(parts) == 6
            and all(victim not in isr and leader != victim for leader, _, isr in parts.values())
        )

    # each broker learns it from the metadata log a moment after the controller wrote the file
    for broker in BROKERS - {victim}:
        address = _address(three_brokers, broker)
        wait_for(
            lambda a=address: caught_up(a),
            15,
            f"broker {broker}'s Metadata to drop the fenced broker and its leaderships",
        )
    # (asked again, of either survivor: {} only if the one asked is too busy to answer)
    seen = wait_for(lambda: _partitions(survivors, "failover"), 10, "the survivors' Metadata")
    for leader, replicas, isr in seen.values():
        assert leader != victim and leader in isr
        assert victim not in isr and len(isr) == 2
        assert victim in replicas  # still assigned: it may come back
    # DescribeTopicPartitions (what the Java admin's describeTopics uses) agrees with Metadata
    client = WireClient(survivors.split(",")[0])
    try:
        response = client.send(
            dtp.DescribeTopicPartitionsRequest(
                topics=(dtp.TopicRequest(name="failover"),), response_partition_limit=2000
            )
        )
    finally:
        client.close()
    described = {
        p.partition_index: (p.leader_id, list(p.replica_nodes), list(p.isr_nodes))
        for p in response.topics[0].partitions
    }
    assert described == wait_for(
        lambda: _partitions(survivors, "failover"), 10, "the survivors' Metadata"
    )
    assert all(p.offline_replicas == (victim,) for p in response.topics[0].partitions)
    three_brokers.restart_node(victim)  # waits until it has registered and is active
    wait_for(
        lambda: metadata_brokers(survivors) == BROKERS,
        10,
        "Metadata to list the restarted broker",
    )


def test_without_the_controller_brokers_serve_metadata_and_admin_fails_clearly(
    three_brokers: LocalCluster,
) -> None:
    bs = three_brokers.bootstrap()
    _create(bs, NewTopic("kept", 3, 3))
    wait_for(lambda: _partitions(bs, "kept"), 10, "the topic in Metadata")
    three_brokers.kill(100)
    md = wait_for(lambda: unless_not_yet(lambda: admin(bs).list_topics(timeout=10)), 10, "Metadata")
    assert set(md.brokers) == BROKERS
    assert len(md.topics["kept"].partitions) == 3
    with pytest.raises(KafkaException, match=r"controller \(node 100 at .*\) is not reachable"):
        _create(bs, NewTopic("refused", 1, 1))
    # a broker restarted meanwhile serves with its own copy of the metadata log
    stale = three_brokers.epochs()
    three_brokers.kill(101)
    three_brokers.restart_node(101, wait=False)
    alone = f"127.0.0.1:{three_brokers.node(101)['port']}"
    parts = wait_for(
        lambda: _partitions(alone, "kept"), START_TIMEOUT_S, "the restarted broker's Metadata"
    )
    assert all(sorted(replicas) == sorted(BROKERS) for _, replicas, _ in parts.values())
    three_brokers.restart_node(100)
    # 101, restarted meanwhile, registers with it (the three replicas below need it). Until
    # then the restarted controller still counts 101's old registration as live (a fresh
    # session each, as KRaft gives), and while the new one is fenced it counts two brokers:
    # so wait for the new registration, not for three brokers in Metadata
    three_brokers.wait_registered([101], stale)
    _create(bs, NewTopic("after", 1, 3))  # admin works again once it is back
    wait_for(lambda: len(_partitions(bs, "after")) == 1, 15, "the new topic in Metadata")


def test_sigterm_on_the_launcher_stops_every_node(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(2, ["--racks", "a,b"])
    info = cluster.info()
    assert [b["rack"] for b in info["brokers"]] == ["a", "b"]
    pids = [n["pid"] for n in [info["controller"], *info["brokers"]]]
    cluster.launcher.send_signal(signal.SIGTERM)
    assert cluster.launcher.wait(20) == 0

    wait_for(lambda: processes_gone(pids), 10, "every node process to exit")
    assert set(cluster.states().values()) == {"stopped"}


def test_nodes_die_with_a_killed_launcher(cluster_factory: Callable[..., LocalCluster]) -> None:
    cluster = cluster_factory(2)
    info = cluster.info()
    pids = [n["pid"] for n in [info["controller"], *info["brokers"]]]
    cluster.launcher.kill()
    cluster.launcher.wait(10)

    wait_for(lambda: processes_gone(pids), 10, "the nodes to exit after their launcher was killed")


def test_a_restarted_controller_is_reached_through_a_broker_idle_since_before(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(2)
    only_101 = f"127.0.0.1:{cluster.node(101)['port']}"  # the broker that forwards every request
    _create(only_101, NewTopic("before", 1, 2))
    cluster.kill(100)
    cluster.restart_node(100)
    # 101's connection to the old controller is dead but was never used since: the request
    # goes through on a new one
    _create(only_101, NewTopic("after-restart", 1, 2))
    wait_for(lambda: _partitions(only_101, "after-restart"), 15, "the new topic in Metadata")
