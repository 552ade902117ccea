"""A broker killed -9 and started again with --node rejoins every ISR without the controller
refusing any ISR change: its leaders wait until the metadata shows it unfenced before they
propose it (as Kafka's Partition.isReplicaIsrEligible), instead of proposing it while it is
still fenced, being answered INELIGIBLE_REPLICA and proposing it again later."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from confluent_kafka.admin import NewTopic

from .local_cluster import LocalCluster, admin, start_timeout_s, unless_not_yet, wait_for

TOPIC = "rejoin"
PARTITIONS = 12
BROKERS = (101, 102, 103)
VICTIM = 103


def _isrs(address: str) -> dict[int, list[int]]:
    """The ISR of each partition of the topic as one broker sees it ({} while it does not
    answer or does not know the topic yet)."""
    md = unless_not_yet(lambda: admin(address).list_topics(TOPIC, timeout=10))
    if md is None or TOPIC not in md.topics or md.topics[TOPIC].error is not None:
        return {}
    return {p.id: sorted(p.isrs) for p in md.topics[TOPIC].partitions.values()}


def _every_broker_sees(cluster: LocalCluster, isr: list[int]) -> bool:
    """Every live broker, asked on its own, lists every partition with this ISR."""
    for broker in BROKERS:
        if broker == VICTIM and isr != list(BROKERS):
            continue
        seen = _isrs(f"127.0.0.1:{cluster.node(broker)['port']}")
        if len(seen) != PARTITIONS or any(s != isr for s in seen.values()):
            return False
    return True


def test_a_restarted_broker_rejoins_every_isr_without_a_refused_isr_change(
    cluster_factory: Callable[..., LocalCluster], tmp_path: Path
) -> None:
    log_path = tmp_path / "cluster.log"
    cluster = cluster_factory(3, log_path=log_path)
    client = admin(cluster.bootstrap())
    for fut in client.create_topics([NewTopic(TOPIC, PARTITIONS, 3)]).values():
        fut.result(timeout=start_timeout_s(15))
    full = list(BROKERS)
    wait_for(lambda: _every_broker_sees(cluster, full), 30, "every ISR full at the start")

    cluster.kill(VICTIM)
    short = [b for b in BROKERS if b != VICTIM]
    wait_for(lambda: _every_broker_sees(cluster, short), 30, f"{VICTIM} out of every ISR")
    before = log_path.stat().st_size
    cluster.restart_node(VICTIM)  # until it is registered anew and unfenced
    wait_for(lambda: _every_broker_sees(cluster, full), 30, f"{VICTIM} back in every ISR")

    with log_path.open("rb") as f:
        f.seek(before)
        since_restart = f.read().decode(errors="replace")
    # (up to a fencing for a late heartbeat on a loaded machine, if any: that shrinks ISRs
    # again, and a leader may then propose a change the controller refuses for other reasons)
    lines = since_restart.splitlines()
    fencing = next((i for i, line in enumerate(lines) if "sent no heartbeat" in line), None)
    refused = [line for line in lines[:fencing] if "The controller refused" in line]
    assert not refused, "\n".join(refused)
