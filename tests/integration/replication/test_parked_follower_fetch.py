"""A follower's fetch parked at the leader (waiting for data, up to replica.fetch.wait.max.ms)
that completes after its broker was fenced or registered anew records no progress: it may come
from a process that died meanwhile, and must not put that broker back into the ISR (Kafka's
leader refuses a fetch whose broker epoch is older than the metadata's)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from embedded_broker.state import BrokerState

from .cluster import Cluster, batch, fetch, produce, wait_until
from .conftest import ClusterFactory

TOPIC = "parked"
# long enough that only the next append, not the wait running out, completes the fetch
PARKED_MS = 60_000


def _follower_fetch(bootstrap: str, replica_id: int, offset: int) -> Any:
    """One raw follower Fetch v12 of partition 0 at ``offset``, waiting for a byte of data:
    the partition's answer."""
    return fetch(
        bootstrap,
        TOPIC,
        offset=offset,
        current_leader_epoch=1,
        last_fetched_epoch=1,
        replica_id=replica_id,
        max_wait_ms=PARKED_MS,
        min_bytes=1,
        log_start_offset=0,
    )


def test_a_fetch_parked_before_its_broker_registered_anew_records_no_progress(
    cluster_factory: ClusterFactory,
) -> None:
    cluster: Cluster = cluster_factory({"replica.lag.time.max.ms": "600000"})
    fenced = {103}
    cluster.on(101, lambda s: s.replicas.set_isr_eligibility(lambda b: b not in fenced))
    cluster.create_topic(TOPIC)
    cluster.stop(103)  # its fetches are made by hand below
    cluster.set_state(TOPIC, 0, leader=101, epoch=1, isr=(101, 102))
    assert produce(cluster.bootstrap(101), TOPIC, batch(2), acks=-1).error_code == 0
    # 102 stops with everything: the high watermark stays at 2 with it in the ISR
    wait_until(lambda: cluster.offsets(101, TOPIC) == (2, 2), what="the high watermark at 2")
    cluster.stop(102)

    def progress_of_103(state: BrokerState) -> int:
        part = state.replicas.get(TOPIC, 0)
        assert part is not None
        progress = part.followers.get(103)
        return -1 if progress is None else progress.leo

    with ThreadPoolExecutor(1) as pool:
        # the old process of 103 (fenced) fetches at the end of the log: its fetch is parked
        parked = pool.submit(_follower_fetch, cluster.bootstrap(101), 103, 2)
        wait_until(lambda: cluster.on(101, progress_of_103) == 2, what="the fetch to arrive")

        def registered_anew(state: BrokerState) -> None:
            # the old process died; a new one registered and was unfenced: as the metadata
            # tells the leader
            fenced.discard(103)
            state.replicas.brokers_changed({103})

        cluster.on(101, registered_anew)
        assert cluster.on(101, progress_of_103) == -1
        # an append completes the parked fetch (acks=1: 102 is gone, the HW stays at 2)
        assert produce(cluster.bootstrap(101), TOPIC, batch(1), acks=1).error_code == 0
        answer = parked.result(timeout=30)
    assert answer.error_code == 0 and answer.records

    def isr_change(state: BrokerState) -> tuple[int, ...] | None:
        part = state.replicas.get(TOPIC, 0)
        assert part is not None
        return part.proposed_isr

    # the dead process's fetch neither counts as progress nor proposes 103 into the ISR
    assert cluster.on(101, isr_change) is None
    assert cluster.isr(TOPIC) == (101, 102)
    assert cluster.on(101, progress_of_103) == -1
    assert cluster.offsets(101, TOPIC) == (3, 2)
