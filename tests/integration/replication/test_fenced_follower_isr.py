"""A leader proposes a caught-up follower back into the ISR only once the metadata shows that
broker unfenced (Kafka's Partition.isReplicaIsrEligible), and at once when it is unfenced: not
while the controller would refuse it (INELIGIBLE_REPLICA), and not only at the follower's next
fetch, which may wait at the leader up to replica.fetch.wait.max.ms."""

from __future__ import annotations

from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.state import BrokerState

from .cluster import Cluster, batch, produce, wait_until
from .conftest import ClusterFactory

# a caught-up follower's fetch waits this long at the leader when nothing new comes: the
# expansion after the unfence must not be the work of the follower's next fetch
FETCH_WAIT_MS = 60_000


def test_a_fenced_follower_is_proposed_only_once_unfenced_and_then_at_once(
    cluster_factory: ClusterFactory,
) -> None:
    cluster: Cluster = cluster_factory({"replica.fetch.wait.max.ms": str(FETCH_WAIT_MS)})
    fenced = {103}
    refused: list[tuple[int, ...]] = []

    async def controller(topic: str, partition: int, ps: PartitionState) -> PartitionState | None:
        if any(b in fenced for b in ps.isr):  # as KRaft's controller answers INELIGIBLE_REPLICA
            refused.append(ps.isr)
            return None
        return await cluster._commit_isr(topic, partition, ps)

    def wire(state: BrokerState) -> None:
        state.replicas.set_isr_sender(controller)
        state.replicas.set_isr_eligibility(lambda broker: broker not in fenced)

    cluster.on(101, wire)
    cluster.create_topic("fence")
    cluster.set_state("fence", 0, leader=101, epoch=1, isr=(101, 102))
    assert produce(cluster.bootstrap(101), "fence", batch(3), acks=1).error_code == 0

    def fetched_by_103(state: BrokerState) -> int:
        part = state.replicas.get("fence", 0)
        assert part is not None
        progress = part.followers.get(103)
        return -1 if progress is None else progress.leo

    # 103 has everything, and its leader knows it: caught up, but fenced
    wait_until(lambda: cluster.offsets(103, "fence")[0] == 3, what="103 to copy the records")
    wait_until(lambda: cluster.on(101, fetched_by_103) == 3, what="103 to fetch at the end")
    wait_until(lambda: cluster.offsets(101, "fence")[1] == 3, what="the high watermark at 3")
    assert cluster.isr("fence") == (101, 102)
    assert refused == []  # never proposed while fenced

    fenced.discard(103)
    cluster.on(101, lambda state: state.replicas.brokers_changed())  # the metadata's unfence
    # (its fetch is parked at the leader for a minute: only the unfence can propose it now)
    wait_until(lambda: cluster.isr("fence") == (101, 102, 103), 10, "103 back in the ISR")
    assert refused == []


def test_a_fenced_broker_is_proposed_again_only_after_fetching_anew(
    cluster_factory: ClusterFactory,
) -> None:
    cluster: Cluster = cluster_factory({"replica.fetch.wait.max.ms": str(FETCH_WAIT_MS)})
    fenced: set[int] = set()
    cluster.on(101, lambda s: s.replicas.set_isr_eligibility(lambda b: b not in fenced))
    cluster.create_topic("gone")
    cluster.set_state("gone", 0, leader=101, epoch=1, isr=(101, 102, 103))
    assert produce(cluster.bootstrap(101), "gone", batch(2), acks=-1).error_code == 0
    wait_until(lambda: cluster.offsets(103, "gone")[0] == 2, what="103 to copy the records")

    # 103 is fenced (the controller takes it out of the ISR), then its process dies
    fenced.add(103)
    cluster.set_state("gone", 0, leader=101, epoch=1, isr=(101, 102))
    cluster.stop(103)
    cluster.on(101, lambda state: state.replicas.brokers_changed({103}))
    # unfenced again (a new process registered) before it fetched anything: the leader knows
    # nothing of its log now, which may hold less than before it died
    fenced.discard(103)

    def unfenced(state: BrokerState) -> bool:
        state.replicas.brokers_changed()
        part = state.replicas.get("gone", 0)
        assert part is not None
        return part.isr_in_flight  # a proposal is made at once, or not at all

    assert not cluster.on(101, unfenced)
    assert cluster.isr("gone") == (101, 102)
    # once it fetches at the end of the log, it is back
    cluster.start(103)
    wait_until(lambda: cluster.isr("gone") == (101, 102, 103), 10, "103 back in the ISR")
