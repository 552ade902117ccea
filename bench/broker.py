"""Built-in broker against Apache Kafka 4.3.1, side by side in one run (issue 3's benchmark).

(a) kafka-producer-perf-test, 1 KiB records, acks=1; (b) kafka-consumer-perf-test reading them back;
(c) a confluent-kafka Python producer and consumer with 100 B records; plus start-up time to the
first ApiVersions answer and RSS after the load. Ratios are built-in ÷ Kafka. Then, built-in
only (bench/broker_loop.py): (d) event-loop latency while a 5,000-partition topic is created,
a producer writes flat out and 4 consumers stall; (e) RSS meanwhile; (f) shutdown time with
5,000 partitions. Last (bench/broker_tls.py): (g) producer and consumer perf tests over SASL_SSL
with SCRAM-SHA-512 on both brokers ("tls_produce_ratio", "tls_consume_ratio"); and
(bench/broker_txn.py) the transactional producer perf test, a commit every 100 ms
("txn_produce_ratio"); (h) (bench/compaction.py) the time to clean 1,000,000 keyed records of
100 B with 10% unique keys ("compaction_ratio", built-in seconds ÷ Kafka seconds).

    python -m bench.broker [--java-records N] [--python-records N] [--small]
                           [--only loop|tls|txn|compaction]

``--small`` runs everything at a size for a quick check (not for the figures); ``--only loop``
runs parts (d) to (f) alone (no Java needed); ``--only tls`` runs part (g) alone; ``--only txn``
the transactional part alone; ``--only compaction`` part (h) alone.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bench import broker_loop, broker_tls, broker_txn, compaction
from bench.support import builtin_broker, emit, rss_mb, wait_api_versions
from tests.kafka.classpath import cache_root, ensure_classpath
from tests.kafka.cli import KafkaCli
from tests.kafka.cluster import start_single
from tests.kafka.jvm import TOOLS_LOG4J2, log4j_config

# Full JIT and a fair heap for the peer and for the perf tools: the harness's test settings trade
# throughput for start-up time, which would flatter the built-in broker.
KAFKA_JVM_OPTS = ("-Xmx1g", "-Xms512m", "-XX:+UseG1GC", "-XX:-UsePerfData")
TOOL_JVM_OPTS = ("-Xmx768m", "-Xms256m", "-XX:+UseG1GC", "-XX:-UsePerfData")


@dataclass
class Target:
    name: str
    bootstrap: str
    pid: int
    startup_s: float


@contextlib.contextmanager
def embedded_target() -> Iterator[Target]:
    with builtin_broker({"group.initial.rebalance.delay.ms": "0"}) as broker:
        yield Target("embedded", broker.bootstrap, broker.pid, broker.startup_s)


@contextlib.contextmanager
def kafka_target() -> Iterator[Target]:
    started = time.perf_counter()
    cluster = start_single(jvm_opts=KAFKA_JVM_OPTS)
    try:
        node = cluster.brokers[0]
        assert node.plaintext_port is not None and node.proc is not None
        ready = wait_api_versions(node.plaintext_port)
        yield Target("kafka", cluster.bootstrap, node.proc.pid, round(ready - started, 3))
    finally:
        cluster.stop_all()


def create_topic(bootstrap: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    futures[name].result(30)


def perf_tools() -> KafkaCli:
    classpath = ensure_classpath()
    log4j = log4j_config(cache_root() / "conf", "tools-log4j2.properties", TOOLS_LOG4J2)
    return KafkaCli(classpath=classpath, log4j_file=log4j, jvm_opts=TOOL_JVM_OPTS)


def java_produce(
    cli: KafkaCli, bootstrap: str, topic: str, records: int, extra: Sequence[str] = ()
) -> dict[str, Any]:
    args = ["--bootstrap-server", bootstrap, "--topic", topic, "--num-records", str(records)]
    args += extra
    args += ["--record-size", "1024", "--throughput", "-1", "--command-property", "acks=1"]
    proc = cli.run("kafka-producer-perf-test", args, timeout=900, check=True)
    final = proc.stdout.strip().splitlines()[-1]
    match = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\)", final)
    if not match:
        raise RuntimeError(f"unexpected producer perf-test output: {final!r}")
    return {"records_per_s": float(match.group(1)), "mb_per_s": float(match.group(2))}


def java_consume(
    cli: KafkaCli, bootstrap: str, topic: str, records: int, extra: Sequence[str] = ()
) -> dict[str, Any]:
    args = ["--bootstrap-server", bootstrap, "--topic", topic, "--num-records", str(records)]
    args += extra
    args += ["--timeout", "120000", "--group", f"bench-{topic}"]
    proc = cli.run("kafka-consumer-perf-test", args, timeout=900, check=True)
    lines = [line for line in proc.stdout.strip().splitlines() if line.strip()]
    header = [col.strip() for col in lines[0].split(",")]
    values = [col.strip() for col in lines[-1].split(",")]
    row = dict(zip(header, values, strict=False))
    consumed = int(row["data.consumed.in.nMsg"])
    if consumed < records:
        raise RuntimeError(f"consumer perf-test read {consumed} of {records} records")
    return {"records_per_s": float(row["nMsg.sec"]), "mb_per_s": float(row["MB.sec"])}


def python_clients(bootstrap: str, topic: str, records: int) -> dict[str, Any]:
    payload = b"x" * 100
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": 1})
    started = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, payload)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120) != 0:
        raise RuntimeError("python producer could not deliver every record")
    produce_s = time.perf_counter() - started

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-python", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    started = time.perf_counter()
    read = 0
    deadline = time.monotonic() + 300
    while read < records and time.monotonic() < deadline:
        for message in consumer.consume(10_000, timeout=1.0):
            if message.error() is None:
                read += 1
    consume_s = time.perf_counter() - started
    consumer.close()
    if read < records:
        raise RuntimeError(f"python consumer read {read} of {records} records")
    megabytes = records * len(payload) / 1_000_000
    return {
        "produce_mb_per_s": round(megabytes / produce_s, 2),
        "consume_mb_per_s": round(megabytes / consume_s, 2),
        "mb_per_s": round(2 * megabytes / (produce_s + consume_s), 2),
    }


def run_target(target: Target, cli: KafkaCli, java_records: int, python_records: int) -> dict:
    emit({"target": target.name, "startup_s": target.startup_s})
    create_topic(target.bootstrap, "bench-java")
    create_topic(target.bootstrap, "bench-python")
    produced = java_produce(cli, target.bootstrap, "bench-java", java_records)
    emit({"target": target.name, "test": "producer-perf-test", **produced})
    consumed = java_consume(cli, target.bootstrap, "bench-java", java_records)
    emit({"target": target.name, "test": "consumer-perf-test", **consumed})
    python = python_clients(target.bootstrap, "bench-python", python_records)
    emit({"target": target.name, "test": "python-clients", **python})
    rss = rss_mb(target.pid)
    emit({"target": target.name, "rss_mb": rss})
    return {"produce": produced, "consume": consumed, "python": python, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--java-records", type=int, default=1_000_000)
    parser.add_argument("--python-records", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="a quick run at small sizes")
    parser.add_argument(
        "--only", choices=("all", "loop", "tls", "txn", "compaction"), default="all"
    )
    args = parser.parse_args()
    if args.small:
        args.java_records = min(args.java_records, 50_000)
        args.python_records = min(args.python_records, 50_000)
    compaction_records = 100_000 if args.small else 1_000_000
    if args.only == "compaction":
        emit({"summary": compaction.run(compaction_records)})
        return
    if args.only == "txn":
        emit({"summary": broker_txn.run(perf_tools(), args.java_records)})
        return
    if args.only == "tls":
        tls = broker_tls.run(perf_tools(), args.java_records, KAFKA_JVM_OPTS)
        emit({"summary": tls})
        return
    loop = broker_loop.run(broker_loop.SMALL if args.small else broker_loop.FULL)
    if args.only == "loop":
        emit({"summary": loop})
        return
    cli = perf_tools()
    results: dict[str, dict] = {}
    startup: dict[str, float] = {}
    for name, factory in (("embedded", embedded_target), ("kafka", kafka_target)):
        with factory() as target:
            startup[name] = target.startup_s
            results[name] = run_target(target, cli, args.java_records, args.python_records)

    def ratio(section: str) -> float:
        return round(
            results["embedded"][section]["mb_per_s"] / results["kafka"][section]["mb_per_s"], 3
        )

    emit(
        {
            "summary": {
                "produce_ratio": ratio("produce"),
                "consume_ratio": ratio("consume"),
                "python_client_ratio": ratio("python"),
                "startup_s": startup,
                "rss_mb": {name: results[name]["rss"] for name in results},
                **loop,
                **broker_tls.run(cli, args.java_records, KAFKA_JVM_OPTS),
                **broker_txn.run(cli, args.java_records),
                **compaction.run(compaction_records),
            }
        }
    )


if __name__ == "__main__":
    main()
