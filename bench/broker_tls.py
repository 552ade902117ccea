"""(g) SASL_SSL with SCRAM-SHA-512: the built-in broker against Apache Kafka with the same settings.

Both brokers get a SASL_SSL listener with a certificate made for the run and the SCRAM user
alice; kafka-producer-perf-test and kafka-consumer-perf-test (1 KiB records, acks=1) connect over
it with a client.properties, as a user would. Ratios are built-in ÷ Kafka.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.support import emit, free_port, wait_api_versions
from tests.kafka.cli import KafkaCli
from tests.kafka.cluster import start_single
from tests.tls_certs import KEY_PASSWORD, make_certs

USER, PASSWORD = "alice", "alice-secret"
HOST = "127.0.0.1"


def client_properties(path: Path, ca: Path) -> Path:
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{USER}" password="{PASSWORD}";'
    )
    path.write_text(
        "security.protocol=SASL_SSL\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        f"sasl.jaas.config={jaas}\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={ca}\n"
    )
    return path


@contextlib.contextmanager
def embedded(workdir: Path) -> Iterator[tuple[str, str, Path]]:
    """(PLAINTEXT bootstrap, SASL_SSL bootstrap, CA file) of a topicscope-broker process."""
    certs = make_certs(workdir / "certs")
    plain, secure = free_port(), free_port()
    cmd = [sys.executable, "-m", "embedded_broker", "--data-dir", str(workdir / "data")]
    cmd += [
        "--log-level",
        "WARNING",
        "--add-scram",
        f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]",
    ]
    for key, value in {
        "listeners": f"PLAINTEXT://{HOST}:{plain},SASL_SSL://{HOST}:{secure}",
        "ssl.keystore.location": str(certs.server),
        "ssl.key.password": KEY_PASSWORD,
        "group.initial.rebalance.delay.ms": "0",
    }.items():
        cmd += ["--config", f"{key}={value}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    try:
        wait_api_versions(plain)
        yield f"{HOST}:{plain}", f"{HOST}:{secure}", certs.ca
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def kafka(jvm_opts: tuple[str, ...]) -> Iterator[tuple[str, str, Path]]:
    cluster = start_single(jvm_opts=jvm_opts, tls=True)
    try:
        yield cluster.bootstrap, cluster.sasl_ssl_bootstrap, cluster.ca_file
    finally:
        cluster.stop_all()


def run(cli: KafkaCli, records: int, jvm_opts: tuple[str, ...]) -> dict[str, Any]:
    """Both brokers over SASL_SSL; returns tls_produce_ratio and tls_consume_ratio."""
    from bench.broker import create_topic, java_consume, java_produce

    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="topicscope-bench-tls-") as tmp:
        work = Path(tmp)
        targets = (
            ("embedded", lambda: embedded(work / "embedded")),
            ("kafka", lambda: kafka(jvm_opts)),
        )
        for name, target in targets:
            started = time.perf_counter()
            with target() as (plain, secure, ca):
                emit({"target": name, "tls_startup_s": round(time.perf_counter() - started, 3)})
                create_topic(plain, "bench-tls")
                config = client_properties(work / f"{name}-client.properties", ca)
                extra = ["--command-config", str(config)]
                produced = java_produce(cli, secure, "bench-tls", records, extra)
                emit({"target": name, "test": "producer-perf-test-sasl-ssl", **produced})
                consumed = java_consume(cli, secure, "bench-tls", records, extra)
                emit({"target": name, "test": "consumer-perf-test-sasl-ssl", **consumed})
                results[name] = {"produce": produced, "consume": consumed}

    def ratio(section: str) -> float:
        return round(
            results["embedded"][section]["mb_per_s"] / results["kafka"][section]["mb_per_s"], 3
        )

    return {"tls_produce_ratio": ratio("produce"), "tls_consume_ratio": ratio("consume")}
