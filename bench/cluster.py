"""The built-in 3-broker cluster against a real 3-broker Apache Kafka 4.3.1, side by side in one run
(issue 12's benchmark).

(a) kafka-producer-perf-test, 1 KiB records, acks=all, to a 3-partition topic with replication
factor 3 and min.insync.replicas=2; (b) failover: from kill -9 of a partition's leader to the
first acknowledged acks=all record on that partition (median of 5; the killed broker is started
again between rounds); (c) total RSS of every process of the cluster after (a); (d) start-up:
for the built-in cluster from `--brokers 3` to every broker registered and answering Metadata,
for Kafka the harness's equivalent (storage format, start, all brokers in Metadata).
Ratios are built-in ÷ Kafka. Both clusters run with the same failure-detection settings (TIMING),
so (b) compares the failover machinery, not two defaults.

    python -m bench.cluster [--records N] [--small] [--only failover] [--rounds N] [--timeline]

`--timeline` prints each failover step by step (kill; the session's expiry and the controller's
fencing, from its log; each broker's Metadata naming the new leader; librdkafka applying it;
the first acknowledgement), to see where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench.broker import KAFKA_JVM_OPTS, perf_tools
from bench.support import emit, rss_mb
from tests.kafka.cli import KafkaCli
from tests.kafka.cluster import KafkaCluster, start_cluster

# the same on both clusters: a killed broker is fenced after 3 s (Kafka's default is 9 s)
TIMING = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "5000",
}
BROKER_IDS = {"embedded": (101, 102, 103), "kafka": (1, 2, 3)}
TOPIC_CONFIG = {"min.insync.replicas": "2"}
FAILOVER_ROUNDS = 5
READY_TIMEOUT_S = 120.0
LOG_LEVEL = "WARNING"  # of the built-in nodes (INFO shows a failover step by step)


@dataclass
class ClusterTarget:
    """A running 3-broker cluster: where it is, its processes, and kill/start of one broker."""

    name: str
    bootstrap: str
    startup_s: float
    pids: Callable[[], list[int]]
    kill: Callable[[int], float]  # kill -9 one broker; returns when the signal went out
    start: Callable[[int], None]  # start a killed broker again and wait until it is registered
    # the wall times of the controller's fencing of a broker logged since a time, and of the
    # session expiry it names (None when the log does not say), from the controller's log
    fencing: Callable[[int, float], tuple[float, float | None] | None] = lambda _b, _s: None


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})


def metadata_brokers(bootstrap: str) -> set[int]:
    try:
        return set(_admin(bootstrap).list_topics(timeout=2).brokers)
    except Exception:  # not up yet
        return set()


def last_match(path: Path, pattern: re.Pattern[str], since: float) -> tuple[float, str] | None:
    """The wall time and the line of the last log line matching ``pattern`` (its group
    "at": the line's time) logged at or after ``since``."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    found = None
    for match in pattern.finditer(text):
        at = time.mktime(time.strptime(match["at"][:19], "%Y-%m-%d %H:%M:%S"))
        at += int(match["at"][20:23]) / 1000
        if at >= since - 0.001:
            found = (at, match.group(0).strip())
    return found


def wait_until(
    condition: Callable[[], Any], timeout_s: float, what: str, poll_s: float = 0.01
) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout_s:.0f} s")
        time.sleep(poll_s)


# ----- the built-in cluster ---------------------------------------------------------------------


def _cluster_json(data_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((data_dir / "cluster.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


def _all_answer(data_dir: Path, ids: tuple[int, ...]) -> bool:
    """Every broker is listed in cluster.json and itself answers Metadata naming all of them."""
    brokers = _cluster_json(data_dir).get("brokers", [])
    if len(brokers) != len(ids) or not all(b.get("pid") for b in brokers):
        return False
    return all(metadata_brokers(f"{b['host']}:{b['port']}") == set(ids) for b in brokers)


@contextlib.contextmanager
def embedded_cluster(log_to_file: bool = False) -> Iterator[ClusterTarget]:
    ids = BROKER_IDS["embedded"]
    with tempfile.TemporaryDirectory(prefix="topicscope-bench-cluster-") as tmp:
        data_dir = Path(tmp)
        cmd = [sys.executable, "-m", "embedded_broker", "--brokers", "3"]
        cmd += ["--data-dir", str(data_dir), "--port", "0", "--log-level", LOG_LEVEL]
        for key, value in TIMING.items():
            cmd += ["--config", f"{key}={value}"]
        restarted: list[subprocess.Popen[bytes]] = []
        log_path = data_dir / "nodes.log"
        # the nodes' warnings (the controller's fencing among them) on the console, or in a
        # file the timeline reads
        stderr = log_path.open("ab") if log_to_file else None
        started = time.perf_counter()
        launcher = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_until(lambda: _all_answer(data_dir, ids), READY_TIMEOUT_S, "ready cluster")
            startup = round(time.perf_counter() - started, 3)
            info = _cluster_json(data_dir)
            bootstrap = ",".join(f"{b['host']}:{b['port']}" for b in info["brokers"])

            def node(node_id: int) -> dict[str, Any]:
                data = _cluster_json(data_dir)
                found: dict[str, Any] = next(
                    n for n in [data["controller"], *data["brokers"]] if n["id"] == node_id
                )
                return found

            def pids() -> list[int]:
                data = _cluster_json(data_dir)
                nodes = [data["controller"], *data["brokers"]]
                return [launcher.pid, *(int(n["pid"]) for n in nodes if n.get("pid"))]

            def kill(broker_id: int) -> float:
                pid = int(node(broker_id)["pid"])
                sent = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
                return sent

            def start(broker_id: int) -> None:
                args = ["--data-dir", str(data_dir), "--node", str(broker_id)]
                proc = subprocess.Popen(
                    [sys.executable, "-m", "embedded_broker", *args, "--log-level", LOG_LEVEL],
                    stdin=subprocess.DEVNULL,
                    stderr=stderr,
                )
                restarted.append(proc)
                wait_until(
                    lambda: (
                        node(broker_id)["pid"] == proc.pid
                        and broker_id in metadata_brokers(bootstrap)
                    ),
                    READY_TIMEOUT_S,
                    f"broker {broker_id} registered again",
                )

            session_ms = int(TIMING["broker.session.timeout.ms"])

            def fencing(broker_id: int, since: float) -> tuple[float, float | None] | None:
                line = re.compile(
                    rf"^(?P<at>\S+ \S+) WARNING \S+: Broker {broker_id} sent no heartbeat "
                    r"for (?P<ms>\d+) ms; fencing it",
                    re.MULTILINE,
                )
                found = last_match(log_path, line, since)
                if found is None:
                    return None
                silence = int(found[1].split(" for ")[1].split(" ms")[0])
                return found[0], found[0] - (silence - session_ms) / 1000

            yield ClusterTarget("embedded", bootstrap, startup, pids, kill, start, fencing)
        finally:
            for proc in [*restarted, launcher]:
                proc.send_signal(signal.SIGTERM)
            for proc in [*restarted, launcher]:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if stderr is not None:
                stderr.close()


# ----- real Kafka -------------------------------------------------------------------------------


@contextlib.contextmanager
def kafka_cluster(_log_to_file: bool = False) -> Iterator[ClusterTarget]:
    cluster: KafkaCluster = start_cluster(3, jvm_opts=KAFKA_JVM_OPTS, properties=TIMING)
    try:

        def pids() -> list[int]:
            return [n.proc.pid for n in cluster.nodes if n.proc is not None and n.running()]

        def start(broker_id: int) -> None:
            cluster.start_node(broker_id, READY_TIMEOUT_S)

        def kill(broker_id: int) -> float:
            # the harness's kill also waits until the JVM has exited (a polled wait): time
            # from the signal, as for the built-in cluster
            node = cluster.node(broker_id)
            sent = time.perf_counter()
            node.signal(signal.SIGKILL)
            node.wait_exit(30)
            return sent

        def fencing(broker_id: int, since: float) -> tuple[float, float | None] | None:
            line = re.compile(
                rf"^\[(?P<at>[^\]]+)\] INFO .*Fencing broker {broker_id} (at epoch \d+ )?"
                r"because its session has timed out\.",
                re.MULTILINE,
            )
            controllers = [n for n in cluster.nodes if not n.is_broker]
            found = [last_match(n.log_path, line, since) for n in controllers]
            hits = [f for f in found if f is not None]
            if not hits:
                return None
            return max(hits)[0], None  # Kafka fences at the expiry and does not log it

        yield ClusterTarget(
            "kafka",
            cluster.bootstrap,
            round(cluster.startup_seconds, 3),
            pids,
            kill,
            start,
            fencing,
        )
    finally:
        cluster.stop_all()


# ----- the measurements -------------------------------------------------------------------------


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = _admin(bootstrap)
    topic = NewTopic(name, num_partitions=partitions, replication_factor=3, config=TOPIC_CONFIG)
    admin.create_topics([topic])[name].result(30)
    wait_until(lambda: isr_sizes(bootstrap, name) == [3] * partitions, 30, f"{name} in sync")


def partition_view(bootstrap: str, topic: str) -> dict[int, tuple[int, list[int]]]:
    """Leader and ISR by partition ({} while no broker answers)."""
    try:
        md = _admin(bootstrap).list_topics(topic, timeout=5)
    except Exception:  # a broker is restarting
        return {}
    found = md.topics.get(topic)
    if found is None or found.error is not None:
        return {}
    return {p.id: (p.leader, list(p.isrs)) for p in found.partitions.values()}


def isr_sizes(bootstrap: str, topic: str) -> list[int]:
    view = partition_view(bootstrap, topic)
    return [len(view[p][1]) for p in sorted(view)]


def java_produce_acks_all(
    cli: KafkaCli, bootstrap: str, topic: str, records: int
) -> dict[str, Any]:
    args = ["--bootstrap-server", bootstrap, "--topic", topic, "--num-records", str(records)]
    args += ["--record-size", "1024", "--throughput", "-1", "--command-property", "acks=all"]
    proc = cli.run("kafka-producer-perf-test", args, timeout=900, check=True)
    final = proc.stdout.strip().splitlines()[-1]
    match = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\)", final)
    if not match:
        raise RuntimeError(f"unexpected producer perf-test output: {final!r}")
    return {"records_per_s": float(match.group(1)), "mb_per_s": float(match.group(2))}


class SteadyProducer:
    """An idempotent acks=all producer writing one record every few ms to partition 0 on its own
    thread, noting when each acknowledgement arrived."""

    def __init__(self, bootstrap: str, topic: str, timeline: Timeline | None = None) -> None:
        self.topic = topic
        self.sent = 0
        self.acks: dict[int, float] = {}  # record number -> when it was acknowledged
        self._lock = threading.Lock()
        self._stop = threading.Event()
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,
            "message.timeout.ms": 120000,
            "log_level": 0,
        }
        if timeline is None:
            self.producer = Producer(config)
        else:  # librdkafka's own account of when it learned the new leader
            config.update({"debug": "topic,metadata", "log_level": 7})
            self.producer = Producer(config, logger=timeline.client_logger())
        self.thread = threading.Thread(target=self._run, name="steady-producer", daemon=True)
        self.thread.start()

    def _delivered(self, number: int, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            with self._lock:
                self.acks[number] = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.is_set():
            if len(self.producer) < 1000:
                on_delivery = functools.partial(self._delivered, self.sent)
                self.producer.produce(self.topic, b"x" * 100, partition=0, on_delivery=on_delivery)
                self.sent += 1
            self.producer.poll(0.002)
        self.producer.flush(60)

    def first_ack_from(self, number: int) -> float | None:
        """When the first record numbered ``number`` or later was acknowledged (answers the old
        leader sent before it died may still be on their way for earlier ones)."""
        with self._lock:
            return min((t for n, t in self.acks.items() if n >= number), default=None)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(90)


class Timeline:
    """Steps of one failover as seen from outside: when each broker's Metadata names a new
    leader for partition 0 (polled every 10 ms) and when librdkafka applied it."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.events: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._watching = threading.Event()

    def note(self, what: str, at: float | None = None) -> None:
        with self._lock:
            self.events.append((time.perf_counter() if at is None else at, what))

    def client_logger(self) -> logging.Logger:
        timeline = self

        class _Steps(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                message = record.getMessage()
                if "applying leader-id update" in message:
                    timeline.note("librdkafka: " + message.split("]: ", 2)[-1])

        logger = logging.getLogger(f"bench.cluster.librdkafka.{id(self)}")
        logger.addHandler(_Steps())
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        return logger

    def watch(self, addresses: list[str], old_leader: int) -> list[threading.Thread]:
        with self._lock:
            self.events.clear()  # librdkafka's lines from before this kill
        self._watching.set()

        def poll(address: str) -> None:
            while self._watching.is_set():
                view = partition_view(address, self.topic).get(0)
                if view is not None and view[0] != old_leader:
                    self.note(f"Metadata from {address}: leader {view[0]}, ISR {view[1]}")
                    return
                time.sleep(0.01)

        threads = [threading.Thread(target=poll, args=(a,), daemon=True) for a in addresses]
        for thread in threads:
            thread.start()
        return threads

    def report(self, target: str, killed: float) -> None:
        self._watching.clear()
        with self._lock:
            steps = sorted(self.events)
            self.events.clear()
        for at, what in steps:
            emit({"target": target, "timeline_s": round(at - killed, 3), "step": what})


def failover_seconds(target: ClusterTarget, rounds: int, timeline: bool = False) -> list[float]:
    topic = "bench-failover"
    create_topic(target.bootstrap, topic, 1)
    steps = Timeline(topic) if timeline else None
    producer = SteadyProducer(target.bootstrap, topic, steps)
    times: list[float] = []
    try:
        wait_until(lambda: len(producer.acks) > 100, 60, "acknowledged records")
        for _ in range(rounds):
            leader = partition_view(target.bootstrap, topic)[0][0]
            if steps is not None:
                steps.watch(target.bootstrap.split(","), leader)
            killed = target.kill(leader)
            wall_offset = time.time() - time.perf_counter()
            number = producer.sent

            def acknowledged(since: int = number) -> float | None:
                return producer.first_ack_from(since)

            first: float = wait_until(acknowledged, 120, "failover")
            times.append(round(first - killed, 3))
            if steps is not None:
                steps.note("first acknowledged acks=all record")
                time.sleep(0.3)  # the slower Metadata pollers
                fenced = target.fencing(leader, killed + wall_offset)
                if fenced is not None:
                    at, expiry = fenced
                    steps.note(f"controller fences {leader}", at - wall_offset)
                    if expiry is not None:
                        steps.note(f"session of {leader} expires", expiry - wall_offset)
                steps.report(target.name, killed)
            emit({"target": target.name, "test": "failover", "killed": leader, "s": times[-1]})
            target.start(leader)
            wait_until(lambda: isr_sizes(target.bootstrap, topic) == [3], 120, "ISR of 3 again")
    finally:
        producer.close()
    return times


def run_target(
    target: ClusterTarget, cli: KafkaCli | None, records: int, rounds: int, timeline: bool
) -> dict[str, Any]:
    emit({"target": target.name, "startup_s": target.startup_s})
    if cli is None:  # --only failover
        median = statistics.median(failover_seconds(target, rounds, timeline))
        emit({"target": target.name, "test": "failover", "median_s": median})
        return {"failover": median, "startup": target.startup_s}
    create_topic(target.bootstrap, "bench-acks-all", 3)
    produced = java_produce_acks_all(cli, target.bootstrap, "bench-acks-all", records)
    emit({"target": target.name, "test": "producer-perf-test acks=all", **produced})
    rss = round(sum(rss_mb(pid) for pid in target.pids()), 1)
    emit({"target": target.name, "rss_mb": rss, "processes": len(target.pids())})
    failover = failover_seconds(target, rounds, timeline)
    median = statistics.median(failover)
    emit({"target": target.name, "test": "failover", "median_s": median})
    return {"produce": produced, "rss": rss, "failover": median, "startup": target.startup_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--small", action="store_true", help="a quick run at a small size")
    parser.add_argument("--only", choices=["failover"], help="run only this part (and start-up)")
    parser.add_argument("--rounds", type=int, help="failover rounds (default 5, 2 with --small)")
    parser.add_argument("--timeline", action="store_true", help="print each failover's steps")
    args = parser.parse_args()
    records = min(args.records, 20_000) if args.small else args.records
    rounds = args.rounds or (2 if args.small else FAILOVER_ROUNDS)
    cli = None if args.only == "failover" else perf_tools()
    results: dict[str, dict[str, Any]] = {}
    for name, factory in (("embedded", embedded_cluster), ("kafka", kafka_cluster)):
        with factory(args.timeline) as target:
            results[name] = run_target(target, cli, records, rounds, args.timeline)
    if args.only == "failover":
        ratio = round(results["embedded"]["failover"] / results["kafka"]["failover"], 3)
        emit(
            {
                "summary": {
                    "failover_ratio": ratio,
                    "failover_s": {name: results[name]["failover"] for name in results},
                    "startup_s": {name: results[name]["startup"] for name in results},
                }
            }
        )
        return
    emit(
        {
            "summary": {
                "acks_all_ratio": round(
                    results["embedded"]["produce"]["mb_per_s"]
                    / results["kafka"]["produce"]["mb_per_s"],
                    3,
                ),
                "failover_ratio": round(
                    results["embedded"]["failover"] / results["kafka"]["failover"], 3
                ),
                "rss_mb": {name: results[name]["rss"] for name in results},
                "startup_s": {name: results[name]["startup"] for name in results},
            }
        }
    )


if __name__ == "__main__":
    main()
