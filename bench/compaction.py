"""Part (h) of the broker benchmark: time to clean a compacted partition, built-in vs Kafka 4.3.1.

1,000,000 keyed records of 100 B with 10% unique keys (100,000 keys) are written to one
partition with cleanup.policy=delete; the topic is then switched to compact (with
min.cleanable.dirty.ratio 0.01 and a short segment.ms), one more record rolls the segment, and
each broker's log cleaner compacts the whole backlog in one round. The time is the one each
cleaner reports for that round (Kafka: "N MB of log processed in S seconds"; built-in:
"Cleaned ... in S s"). Summary key "compaction_ratio" = built-in seconds ÷ Kafka seconds.

    python -m bench.compaction [--records N] [--only builtin|kafka]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from bench.support import HOST, emit, free_port, wait_api_versions

TOPIC = "bench-compaction"
VALUE_SIZE = 100
KAFKA_JVM_OPTS = ("-Xmx1g", "-Xms512m", "-XX:+UseG1GC", "-XX:-UsePerfData")
KAFKA_DONE = re.compile(
    r"cleaned log " + TOPIC + r"-0 .*?\n\s*([\d,.]+) MB of log processed in ([\d,.]+) seconds", re.S
)
BUILTIN_DONE = re.compile(r"Cleaned " + TOPIC + r"-0 up to offset (\d+) in ([\d.]+) s")
WAIT_S = 600.0


def _set(admin: AdminClient, kind: ResourceType, name: str, changes: dict[str, str]) -> None:
    entries = [
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
        for key, value in changes.items()
    ]
    resource = ConfigResource(kind, name, incremental_configs=entries)
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(60)


def load(bootstrap: str, records: int) -> float:
    """Write the keyed backlog; returns the seconds it took."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = NewTopic(TOPIC, 1, 1, config={"cleanup.policy": "delete", "retention.ms": "-1"})
    admin.create_topics([topic])[TOPIC].result(60)
    rng = random.Random(15)
    values = [os.urandom(VALUE_SIZE) for _ in range(1024)]
    keys = max(records // 10, 1)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
            "compression.type": "none",
        }
    )
    started = time.perf_counter()
    for i in range(records):
        key = b"key-%07d" % rng.randrange(keys)
        while True:
            try:
                producer.produce(TOPIC, values[i & 1023], key, partition=0)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0, "records were not delivered"
    return time.perf_counter() - started


def start_compaction(bootstrap: str) -> None:
    """Switch to compact, then roll the backlog's segment with one more record."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    changes = {
        "cleanup.policy": "compact",
        "min.cleanable.dirty.ratio": "0.01",
        "segment.ms": "100",
    }
    _set(admin, ResourceType.TOPIC, TOPIC, changes)
    time.sleep(0.3)
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(TOPIC, b"roll", b"roll-key", partition=0)
    assert producer.flush(60) == 0


def wait_for(path: Path, pattern: re.Pattern[str]) -> re.Match[str]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = pattern.search(path.read_text(errors="replace"))
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"no cleaning of {TOPIC} reported in {path} within {WAIT_S} s")


@contextlib.contextmanager
def builtin(log_file: Path) -> Iterator[str]:
    port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="topicscope-bench-") as data_dir,
        open(log_file, "wb") as out,
    ):
        cmd = [sys.executable, "-m", "embedded_broker", "--host", HOST, "--port", str(port)]
        cmd += ["--data-dir", data_dir, "--log-level", "INFO"]
        for setting in ("log.cleaner.backoff.ms=100", "log.retention.check.interval.ms=100"):
            cmd += ["--config", setting]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_api_versions(port)
            yield f"{HOST}:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_builtin(records: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        log_file = Path(tmp) / "broker.log"
        with builtin(log_file) as bootstrap:
            load_s = load(bootstrap, records)
            started = time.perf_counter()
            start_compaction(bootstrap)
            found = wait_for(log_file, BUILTIN_DONE)
            seconds = float(found.group(2))
            emit(
                {
                    "target": "embedded",
                    "test": "compaction",
                    "records": records,
                    "load_s": round(load_s, 2),
                    "clean_s": seconds,
                    "until_reported_s": round(time.perf_counter() - started, 2),
                    "cleaned_up_to": int(found.group(1)),
                }
            )
            return seconds


def run_kafka(records: int) -> float:
    from tests.kafka.cluster import start_single

    cluster = start_single(jvm_opts=KAFKA_JVM_OPTS)
    try:
        node = cluster.brokers[0]
        assert node.plaintext_port is not None
        wait_api_versions(node.plaintext_port)
        bootstrap = cluster.bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap})
        _set(admin, ResourceType.BROKER, "1", {"log.cleaner.backoff.ms": "100"})
        load_s = load(bootstrap, records)
        started = time.perf_counter()
        start_compaction(bootstrap)
        found = wait_for(node.log_path, KAFKA_DONE)
        seconds = float(found.group(2).replace(",", ""))
        emit(
            {
                "target": "kafka",
                "test": "compaction",
                "records": records,
                "load_s": round(load_s, 2),
                "clean_s": seconds,
                "until_reported_s": round(time.perf_counter() - started, 2),
                "megabytes": float(found.group(1).replace(",", "")),
            }
        )
        return seconds
    finally:
        cluster.stop_all()


def run(records: int, only: str | None = None) -> dict[str, float]:
    """Both cleanings (or ``only`` one); the summary's figures, with "compaction_ratio"."""
    results: dict[str, float] = {}
    if only != "kafka":
        results["embedded_clean_s"] = run_builtin(records)
    if only != "builtin":
        results["kafka_clean_s"] = run_kafka(records)
    if len(results) == 2:
        kafka_s = max(results["kafka_clean_s"], 0.05)  # Kafka reports tenths of a second
        results["compaction_ratio"] = round(results["embedded_clean_s"] / kafka_s, 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("builtin", "kafka"))
    args = parser.parse_args()
    emit({"summary": run(args.records, args.only)})


if __name__ == "__main__":
    main()
