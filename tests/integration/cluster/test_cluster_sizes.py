"""Sizes on disk (the app's Log-dir size and topic Size columns) while one broker of a cluster
cannot be reached: the others' sizes still come, and the silent broker's last known figures
stand in for it, marked as such. Before, one unreachable broker failed the whole round."""

from __future__ import annotations

from collections.abc import Callable

from desktop.domain.log_dirs import keep_last_known
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.log_dirs import describe_sizes

from .local_cluster import LocalCluster, admin, start_timeout_s, wait_for

# the killed broker stays registered (listed in Metadata) for the whole test
LONG_SESSION = ["--config", "broker.session.timeout.ms=120000"]


def test_sizes_come_from_the_brokers_that_answer(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(3, LONG_SESSION)
    from confluent_kafka import Producer
    from confluent_kafka.admin import NewTopic

    client = admin(cluster.bootstrap())  # held: a dropped client ends its calls
    client.create_topics([NewTopic("sized", 3, 3)])["sized"].result(30)
    del client  # not left retrying the cluster after the test
    producer = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all"})
    for i in range(300):
        producer.produce("sized", b"v" * 400, partition=i % 3)
    assert producer.flush(30) == 0
    del producer  # not left retrying the cluster after the test
    profile = ClusterProfile("local", cluster.bootstrap())

    def all_replicas_written() -> object:
        sizes = describe_sizes(profile, Credentials(), 10.0)
        held = [sizes.by_broker.get(b, {}).get("sized", 0) for b in (101, 102, 103)]
        return sizes if min(held) >= 300 * 400 else None

    before = wait_for(all_replicas_written, start_timeout_s(), "every replica on disk")
    assert before.unanswered == frozenset()

    cluster.kill(103)
    # the ids the app's snapshot lists: asking the cluster for them could reach the dead one
    survivors = ClusterProfile("local", cluster.bootstrap(without=103))
    fresh = describe_sizes(survivors, Credentials(), 10.0, brokers=[101, 102, 103])
    assert fresh.unanswered == frozenset({103})
    assert set(fresh.brokers) == {101, 102}
    assert fresh.brokers[101] >= 300 * 400 and fresh.brokers[102] >= 300 * 400

    shown = keep_last_known(before, fresh)
    assert shown.unanswered == frozenset({103})
    assert shown.brokers[103] == before.brokers[103]  # its files are still on its disk
    assert shown.topics["sized"] == sum(shown.by_broker[b]["sized"] for b in (101, 102, 103))
    assert shown.topics["sized"] >= 3 * 300 * 400
