"""A broker killed (-9) while its log cleaner rewrites segments restarts with every key's latest
value intact at its offset: leftover .cleaned files are dropped, a .swap is completed."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from embedded_broker.ports import free_port_run

from .clients import TIMEOUT_S, admin, create_topic, produce_all, producer
from .test_compaction import keyed_input, latest_by_key, read_from_start

CLEANER = ["log.cleaner.backoff.ms=10", "log.retention.check.interval.ms=100"]


def _free_port() -> int:
    return free_port_run("127.0.0.1")  # restarted on it: below the ephemeral range


def _start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "embedded_broker", "--port", str(port)]
    args += ["--data-dir", str(data_dir), "--log-level", "INFO"]
    for setting in CLEANER:
        args += ["--config", setting]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if re.search(r"Topicscope broker ready on 127\.0\.0\.1:\d+", line):
            break
        assert time.monotonic() < deadline, "broker did not start"
    else:
        raise AssertionError(f"broker exited with {proc.wait()}")
    threading.Thread(target=lambda: proc.stdout and proc.stdout.read(), daemon=True).start()
    return proc


def test_kill_9_mid_clean_restarts_with_the_data_intact(tmp_path: Path) -> None:
    port = _free_port()
    data_dir = tmp_path / "data"
    bs = f"127.0.0.1:{port}"
    proc = _start(data_dir, port)
    partition_dir = data_dir / "table-0"
    try:
        # not compacted while the backlog is written: the cleaner then meets it all at once
        create_topic(bs, "table", config={"segment.bytes": "131072", "segment.ms": "300"})
        items = keyed_input(7, 40000, 3000, tombstones=0.02)
        prod = producer(bs, **{"linger.ms": 20, "compression.type": "none"})
        produced = {m.offset(): (m.key(), m.value()) for m in produce_all(prod, "table", items)}
        expected = latest_by_key((o, k, v) for o, (k, v) in sorted(produced.items()))
        resource = ConfigResource(
            ResourceType.TOPIC,
            "table",
            incremental_configs=[
                ConfigEntry(
                    "cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET
                ),
                ConfigEntry(
                    "min.cleanable.dirty.ratio", "0.01", incremental_operation=AlterConfigOpType.SET
                ),
            ],
        )
        client = admin(bs)
        for fut in client.incremental_alter_configs([resource]).values():
            fut.result(timeout=TIMEOUT_S)
        caught = False
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            names = [p.name for p in partition_dir.iterdir()] if partition_dir.exists() else []
            if any(n.endswith((".cleaned", ".swap")) for n in names):
                proc.send_signal(signal.SIGKILL)
                caught = True
                break
            time.sleep(0.001)
        proc.wait(timeout=TIMEOUT_S)
        assert caught, "the cleaner never started"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proc = _start(data_dir, port)
    try:
        entries = read_from_start(bs, "table")
        assert latest_by_key(entries) == expected
        for offset, key, value in entries:
            assert produced[offset] == (key, value)
        # and the cleaner finishes the job after the restart
        deadline = time.monotonic() + TIMEOUT_S
        while len(entries) > len(expected) and time.monotonic() < deadline:
            time.sleep(0.3)
            entries = read_from_start(bs, "table")
        assert len(entries) == len(expected)
        assert latest_by_key(entries) == expected
        after = produce_all(producer(bs), "table", [{"key": b"x", "value": b"y", "partition": 0}])
        assert after[0].offset() == max(produced) + 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
