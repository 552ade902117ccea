"""Leadership after a whole-cluster restart: the first broker to be unfenced leads every
partition (Kafka's controller elects leaders only for leaderless partitions when a broker is
unfenced), and the controller's periodic preferred-leader election
(auto.leader.rebalance.enable, every leader.imbalance.check.interval.seconds) gives each
partition back to its preferred replica."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from confluent_kafka.admin import NewTopic

from .local_cluster import LocalCluster, admin, unless_not_yet, wait_for

# the controller treats every topic alike: a user topic stands for the internal ones (whose
# 100 partitions make the restart several seconds slower)
TOPIC = "balanced"
# a short check so the test sees one; Kafka's default is 300 s
CHECK = ["--config", "leader.imbalance.check.interval.seconds=1"]

# (topic, partition) -> (leader, preferred replica)
Leaders = dict[tuple[str, int], tuple[int, int]]


def _leaders(bootstrap: str) -> Leaders | None:
    client = admin(bootstrap)
    md = unless_not_yet(lambda: client.list_topics(timeout=5))
    if md is None:
        return None
    found: Leaders = {}
    topic = md.topics.get(TOPIC)
    if topic is None or topic.error is not None or not topic.partitions:
        return None
    for index, part in topic.partitions.items():
        found[(TOPIC, index)] = (part.leader, part.replicas[0])
    return found


def test_cluster_restarted_whole_gives_leadership_back_to_preferred_replicas(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(3, CHECK)
    bs = cluster.bootstrap()
    client = admin(bs)
    client.create_topics([NewTopic(TOPIC, 6, 3)], operation_timeout=15)[TOPIC].result(15)
    cluster.stop()
    again = LocalCluster(cluster.data_dir, 3, CHECK)
    try:
        again.wait_all_active()
        last: list[Leaders | None] = [None]

        def balanced() -> bool:
            last[0] = found = _leaders(again.bootstrap())
            return found is not None and all(lead == pref for lead, pref in found.values())

        def off_preferred() -> str:
            found = last[0] or {}
            moved = {tp: lp for tp, lp in found.items() if lp[0] != lp[1]}
            counts = Counter(lead for lead, _ in found.values())
            return (
                f"every partition led by its preferred replica; leaders per broker "
                f"{dict(counts)}; {len(moved)} led by another, e.g. {list(moved.items())[:5]}"
            )

        wait_for(balanced, 30, off_preferred)
        counts = Counter(lead for lead, _ in (last[0] or {}).values())
        # 6 partitions placed round-robin: each broker is the preferred leader of two
        assert counts == dict.fromkeys(again.broker_ids, 2), counts
    finally:
        again.stop()
