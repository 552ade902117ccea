"""The issue's cluster behaviour, one body each, run on the built-in cluster and on real Kafka:
losing brokers of an RF-3 topic and getting them back, durability of acknowledged records
through repeated leader kills, and replicas that agree below the high watermark after a
divergent leader rejoins. Both clusters run with the TIMING of either_cluster (a killed broker
is fenced after 3 s instead of Kafka's default 9 s)."""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer, ElectionType, KafkaError, Producer, TopicPartition

from tests.integration.cluster.local_cluster import start_timeout_s, wait_for

from .either_cluster import (
    RESTART_TIMEOUT_S,
    SESSION_TIMEOUT_MS,
    EitherCluster,
    admin,
    create_topic,
    high_watermark,
    log_below,
    log_end,
    partitions,
    paused,
    quiet,
    wait_isr,
)

# the controller fences after the session timeout; then the new image reaches every broker
FENCE_BOUND_S = SESSION_TIMEOUT_MS / 1000 + 5


def produce(
    bootstrap: str, topic: str, parts: list[int], count: int, **config: object
) -> list[KafkaError | None]:
    """``count`` records to each of ``parts``; the delivery error of each (None = acknowledged)."""
    results: list[KafkaError | None] = []
    producer = Producer(
        quiet(
            {
                "bootstrap.servers": bootstrap,
                "linger.ms": 5,
                "message.timeout.ms": 15000,
                **config,
            }
        )
    )
    for partition in parts:
        for i in range(count):
            producer.produce(
                topic,
                value=f"{partition}-{i}".encode(),
                partition=partition,
                on_delivery=lambda err, _msg: results.append(err),
            )
    producer.flush(30)
    assert len(results) == count * len(parts), "a delivery report never came"
    return results


def test_rf3_topic_loses_brokers_and_gets_them_back(either_cluster: EitherCluster) -> None:
    cluster = either_cluster
    topic = "parity-failover"
    create_topic(cluster, topic, 3, **{"min.insync.replicas": "2"})
    everyone = sorted(cluster.broker_ids)
    view = wait_for(lambda: partitions(cluster.bootstrap(), topic), 15, f"{topic} in Metadata")
    for _leader, replicas, isr in view.values():
        assert sorted(replicas) == everyone and sorted(isr) == everyone
    first, second, last = cluster.broker_ids
    # round-robin placement: each broker is the preferred leader of one partition
    assert sorted(replicas[0] for _, replicas, _ in view.values()) == everyone

    killed_at = time.monotonic()
    # the bound stretches with the load, as wait_for's own deadline does
    fence_bound_s = start_timeout_s(FENCE_BOUND_S)
    cluster.kill(first)
    survivors = cluster.bootstrap(without=(first,))

    def failed_over(address: str) -> bool:
        v = partitions(address, topic)
        return bool(v) and all(
            leader != first and sorted(isr) == [second, last] for leader, _, isr in v.values()
        )

    wait_for(
        lambda: failed_over(survivors),
        FENCE_BOUND_S,
        f"new leaders and an ISR of 2 once broker {first} is fenced",
    )
    assert time.monotonic() - killed_at < fence_bound_s
    # and on both survivors, each asked on its own: the producer below may ask either
    wait_for(
        lambda: failed_over(cluster.address(second)) and failed_over(cluster.address(last)),
        FENCE_BOUND_S,
        f"both survivors to see broker {first} fenced",
    )
    acks_all = {"acks": "all", "enable.idempotence": False, "retries": 0}
    # idempotent, so a retry (a new leader not yet acting on its election) cannot duplicate
    # a record and every acknowledged one is still counted once in the high watermark below
    idempotent = {"acks": "all", "enable.idempotence": True}
    assert produce(survivors, topic, [0, 1, 2], 50, **idempotent) == [None] * 150

    cluster.kill(second)
    alone = cluster.address(last)
    wait_for(
        lambda: (
            (v := partitions(alone, topic))
            and all(leader == last and isr == [last] for leader, _, isr in v.values())
        ),
        FENCE_BOUND_S,
        f"broker {last} alone in every ISR",
    )
    refused = produce(alone, topic, [0, 1, 2], 1, **acks_all)
    assert [e.code() if e else None for e in refused] == [KafkaError.NOT_ENOUGH_REPLICAS] * 3
    assert produce(alone, topic, [0, 1, 2], 20, acks="1", retries=0) == [None] * 60

    cluster.restart(first, second)
    wait_isr(cluster, topic, 3, RESTART_TIMEOUT_S)
    view = wait_for(lambda: partitions(cluster.bootstrap(), topic), 15, f"{topic} in Metadata")
    assert any(leader != replicas[0] for leader, replicas, _ in view.values())
    every = [TopicPartition(topic, p) for p in view]
    client = admin(cluster.bootstrap())  # kept alive until the election's answer is in

    def elected() -> bool:
        result = client.elect_leaders(ElectionType.PREFERRED, every).result(start_timeout_s(20))
        waiting = False
        for tp, error in result.items():
            if error is not None and error.code() == KafkaError.PREFERRED_LEADER_NOT_AVAILABLE:
                # a restarted broker that missed a heartbeat or a fetch on a loaded machine
                # is out of the ISR again for a moment (both kinds answer so): ask again
                waiting = True
                continue
            assert error is None or error.code() == KafkaError.ELECTION_NOT_NEEDED, (tp, error)
        return not waiting

    wait_for(elected, 15, "a preferred election with every preferred replica in the ISR")
    wait_for(
        lambda: (
            (v := partitions(cluster.bootstrap(), topic))
            and all(leader == replicas[0] for leader, replicas, _ in v.values())
        ),
        10,
        "every partition led by its preferred replica",
    )
    # the restarted brokers caught up: everything acknowledged is there on every partition
    assert [high_watermark(cluster, topic, p) for p in range(3)] == [70, 70, 70]


class LoadProducer:
    """An idempotent acks=all producer sending numbered records round-robin to the partitions
    of a topic on its own thread; it records what was acknowledged where."""

    def __init__(self, bootstrap: str, topic: str, parts: int) -> None:
        self.topic = topic
        self.parts = parts
        self.acked: dict[int, list[tuple[int, int]]] = {p: [] for p in range(parts)}
        self.failed: list[str] = []
        self.fatal: list[str] = []
        self.sent = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

        def on_error(err: KafkaError) -> None:
            if err.fatal():
                self.fatal.append(err.str())

        self.producer = Producer(
            quiet(
                {
                    "bootstrap.servers": bootstrap,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "message.timeout.ms": 120000,
                    "error_cb": on_error,
                }
            )
        )
        self.thread = threading.Thread(target=self._run, name="load-producer", daemon=True)

    def acked_on(self, partition: int) -> int:
        with self._lock:
            return len(self.acked[partition])

    def _report(self, err: KafkaError | None, msg: object) -> None:
        value = int(msg.value())  # type: ignore[attr-defined]
        if err is not None:
            self.failed.append(f"{value}: {err.str()}")
            return
        with self._lock:
            self.acked[msg.partition()].append((msg.offset(), value))  # type: ignore[attr-defined]

    def _run(self) -> None:
        while not self._stop.is_set():
            # a bounded backlog: load, not an ever-growing queue while a leader is down
            if len(self.producer) > 2000:
                self.producer.poll(0.05)
                continue
            value = self.sent
            self.producer.produce(
                self.topic,
                value=str(value).encode(),
                partition=value % self.parts,
                on_delivery=self._report,
            )
            self.sent += 1
            self.producer.poll(0)
            if value % 50 == 0:
                time.sleep(0.002)  # about 10-20k records/s at most: the brokers keep up
        self.producer.flush(120)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(150)


def read_partition(cluster: EitherCluster, topic: str, partition: int, end: int) -> list[int]:
    """Every value of one partition from offset 0 up to ``end``, in log order."""
    consumer = Consumer(
        quiet(
            {
                "bootstrap.servers": cluster.bootstrap(),
                "group.id": "parity-reader",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
    )
    values: list[int] = []
    offsets: list[int] = []
    consumer.assign([TopicPartition(topic, partition, 0)])
    try:
        deadline = time.monotonic() + start_timeout_s(30)
        while (not offsets or offsets[-1] < end - 1) and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is None:
                    offsets.append(msg.offset() or 0)
                    values.append(int(msg.value() or b""))
    finally:
        consumer.close()
    assert offsets == list(range(end)), f"partition {partition}: offsets not 0..{end - 1}"
    return values


def leader_of(bootstrap: str, topic: str) -> int:
    """Partition 0's leader, once the broker asked names one in its ISR (a broker that does not
    know the topic yet, or is restarting, answers nothing)."""
    found: int = wait_for(
        lambda: (
            (view := partitions(bootstrap, topic).get(0)) is not None
            and view[0] in view[2]
            and view[0]
        ),
        15,
        f"a leader of {topic}-0 in Metadata",
    )
    return found


def test_acknowledged_records_survive_ten_leader_kills(either_cluster: EitherCluster) -> None:
    cluster = either_cluster
    topic = "parity-durable"
    create_topic(cluster, topic, 3, **{"min.insync.replicas": "2"})
    load = LoadProducer(cluster.bootstrap(), topic, 3)
    load.start()
    try:
        wait_for(lambda: load.acked_on(0) > 500, 20, "records acknowledged before the kills")
        for round_ in range(10):
            leader = leader_of(cluster.bootstrap(), topic)
            before = load.acked_on(0)
            cluster.kill(leader)
            cluster.restart(leader, wait=False)

            def resumed(since: int = before) -> bool:
                return load.acked_on(0) > since + 100

            wait_for(
                resumed,
                start_timeout_s(FENCE_BOUND_S + 10),  # stretched on a loaded machine
                f"acks=all records on partition 0 after leader {leader} was killed ({round_})",
            )
            cluster.wait_registered((leader,))
            wait_isr(cluster, topic, 3, start_timeout_s(RESTART_TIMEOUT_S))
            assert not load.fatal, load.fatal
    finally:
        load.stop()
    assert not load.fatal, load.fatal
    assert not load.failed, load.failed[:5]
    for partition in range(3):
        acked = load.acked[partition]
        end = high_watermark(cluster, topic, partition)
        values = read_partition(cluster, topic, partition, end)
        # exactly once: nothing written twice, acknowledged or not
        assert len(values) == len(set(values)), f"partition {partition} has duplicates"
        # in order: the log holds the producer's sequence for this partition
        assert values == sorted(values), f"partition {partition} is out of order"
        # every acknowledged record is where its acknowledgement said
        assert all(values[offset] == value for offset, value in acked), partition
        assert {v for _, v in acked} <= set(values)


def test_replicas_agree_below_the_high_watermark_after_a_divergent_leader_rejoins(
    either_cluster: EitherCluster,
) -> None:
    cluster = either_cluster
    topic = "parity-diverge"
    create_topic(cluster, topic, 1, **{"min.insync.replicas": "1"})
    bootstrap = cluster.bootstrap()
    assert produce(bootstrap, topic, [0], 100, acks="all") == [None] * 100
    leader = leader_of(bootstrap, topic)
    followers = tuple(b for b in cluster.broker_ids if b != leader)
    wait_for(
        lambda: all(log_end(cluster.partition_dir(b, topic, 0)) == 100 for b in cluster.broker_ids),
        10,
        "100 records on every replica",
    )
    # the followers neither fetch nor heartbeat while the leader takes acks=1 writes alone
    lone = cluster.address(leader)
    with paused(cluster, followers):
        producer = Producer(quiet({"bootstrap.servers": lone, "acks": "1", "linger.ms": 0}))
        acked: list[KafkaError | None] = []
        for i in range(5):  # separate requests: a fetch already parked at the leader takes one
            producer.produce(
                topic,
                value=f"lost-{i}".encode(),
                partition=0,
                on_delivery=lambda err, _m: acked.append(err),
            )
            producer.flush(10)
        assert acked == [None] * 5
        cluster.kill(leader)
    assert log_end(cluster.partition_dir(leader, topic, 0)) == 105
    assert max(log_end(cluster.partition_dir(b, topic, 0)) for b in followers) < 105

    survivors = cluster.bootstrap(without=(leader,))
    wait_for(
        lambda: (v := partitions(survivors, topic)) and v[0][0] in followers,
        FENCE_BOUND_S,
        "a follower to lead",
    )
    # the new leader writes over the offsets only the dead leader had
    assert produce(survivors, topic, [0], 20, acks="all") == [None] * 20
    cluster.restart(leader)
    wait_isr(cluster, topic, 3, RESTART_TIMEOUT_S)
    hw = high_watermark(cluster, topic, 0)
    assert hw >= 120
    logs = {b: log_below(cluster.partition_dir(b, topic, 0), hw) for b in cluster.broker_ids}
    reference = logs[followers[0]]
    assert reference[-1][1] == hw - 1, "the log stops short of the high watermark"
    for broker, log in logs.items():
        assert [b[:2] for b in log] == [b[:2] for b in reference], f"broker {broker}'s offsets"
        assert log == reference, f"broker {broker}'s log differs below the high watermark"
