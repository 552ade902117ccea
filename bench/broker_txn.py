"""Part (g) of the broker benchmark: transactional produce, built-in broker against Kafka 4.3.1.

kafka-producer-perf-test with --transactional-id and --transaction-duration-ms 100 (a commit
every 100 ms), 1 KiB records, acks=all (transactions need it), against each broker in turn.
Summary key "txn_produce_ratio" = built-in MB/s ÷ Kafka MB/s (target ≥ 0.5).

    python -m bench.broker_txn [--records N]
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from tests.kafka.cli import KafkaCli

TOPIC = "bench-txn"
TRANSACTION_DURATION_MS = 100


def java_txn_produce(cli: KafkaCli, bootstrap: str, records: int) -> dict[str, Any]:
    args = ["--bootstrap-server", bootstrap, "--topic", TOPIC, "--num-records", str(records)]
    args += ["--record-size", "1024", "--throughput", "-1", "--command-property", "acks=all"]
    args += ["--transactional-id", "bench-txn"]
    args += ["--transaction-duration-ms", str(TRANSACTION_DURATION_MS)]
    proc = cli.run("kafka-producer-perf-test", args, timeout=900, check=True)
    final = proc.stdout.strip().splitlines()[-1]
    match = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\)", final)
    if not match:
        raise RuntimeError(f"unexpected producer perf-test output: {final!r}")
    return {"records_per_s": float(match.group(1)), "mb_per_s": float(match.group(2))}


def run(cli: KafkaCli, records: int) -> dict[str, Any]:
    """Both brokers; returns {"txn_produce_ratio": built-in ÷ Kafka}."""
    from bench.broker import create_topic, embedded_target, kafka_target
    from bench.support import emit

    results: dict[str, dict[str, Any]] = {}
    for name, factory in (("embedded", embedded_target), ("kafka", kafka_target)):
        with factory() as target:
            create_topic(target.bootstrap, TOPIC)
            produced = java_txn_produce(cli, target.bootstrap, records)
            emit({"target": name, "test": "producer-perf-test-transactional", **produced})
            results[name] = produced
    ratio = results["embedded"]["mb_per_s"] / results["kafka"]["mb_per_s"]
    return {"txn_produce_ratio": round(ratio, 3)}


def main() -> None:
    from bench.broker import perf_tools
    from bench.support import emit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    emit({"summary": run(perf_tools(), args.records)})


if __name__ == "__main__":
    main()
