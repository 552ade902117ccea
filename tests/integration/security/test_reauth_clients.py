"""librdkafka re-authenticates within connections.max.reauth.ms and keeps producing."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from embedded_broker.runner import BrokerRunner

REAUTH_MS = 1000


def test_confluent_producer_reauthenticates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = BrokerRunner(
        port=0,
        data_dir=tmp_path / "data",
        config={
            "listeners": "SASL_PLAINTEXT://127.0.0.1:0",
            "connections.max.reauth.ms": str(REAUTH_MS),
        },
        scram_users=[("SCRAM-SHA-512", "alice", "alice-secret", 4096)],
    )
    runner.start()
    caplog.set_level(logging.WARNING, logger="embedded_broker")
    try:
        producer = Producer(
            {
                "bootstrap.servers": runner.listeners["SASL_PLAINTEXT"].bootstrap,
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": "alice",
                "sasl.password": "alice-secret",
                "linger.ms": 0,
            }
        )
        failures: list[object] = []
        end = time.monotonic() + 3.5 * REAUTH_MS / 1000  # several session lifetimes
        sent = 0
        while time.monotonic() < end:
            producer.produce(
                "reauth", b"x", on_delivery=lambda err, msg: err and failures.append(err)
            )
            sent += 1
            producer.flush(5)
            time.sleep(0.1)
        assert producer.flush(10) == 0
        assert not failures
        expired = [r for r in caplog.records if "expired" in r.getMessage()]
        assert not expired, "the client was cut off instead of re-authenticating"
        assert sent > 10
    finally:
        runner.stop()
