"""Bounded memory and fairness: fetch size caps, the request budget, stalled consumers."""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.broker_fixtures import BrokerFactory, RunningBroker

from .clients import TIMEOUT_S, create_topic, produce_all, producer
from .raw import (
    MAX_I32,
    api_versions_frame,
    batch_offsets,
    batch_sizes,
    connect,
    correlation_id,
    fetch_frame,
    fetched_records,
    read_response,
)


def _fill(bootstrap: str, topic: str, partitions: int, count: int, size: int) -> None:
    """``count`` records of ``size`` bytes per partition, batches of about 200 kB."""
    create_topic(bootstrap, topic, partitions=partitions)
    prod = producer(bootstrap, **{"batch.size": 200_000, "linger.ms": 20})
    items = [
        {"value": os.urandom(size), "partition": p} for p in range(partitions) for _ in range(count)
    ]
    produce_all(prod, topic, items)


def test_fetch_max_bytes_caps_a_fetch_but_returns_at_least_one_batch(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory({"fetch.max.bytes": "1048576"})
    _fill(broker.bootstrap, "capped", 2, 40, 100_000)  # 4 MB per partition
    sock = connect(broker.port)
    try:
        # A consumer asking for 2 GB gets at most fetch.max.bytes, in whole batches.
        sock.sendall(fetch_frame(1, "capped", [(0, 0), (1, 0)]))
        got = fetched_records(read_response(sock))
        total = sum(len(r) for r in got.values())
        assert 0 < total <= 1_048_576
        for records in got.values():
            batch_sizes(records)
        # max_bytes below one batch: exactly one batch (KIP-74), however large the partition max.
        sock.sendall(fetch_frame(2, "capped", [(0, 0), (1, 0)], max_bytes=1))
        got = fetched_records(read_response(sock))
        assert len(batch_sizes(got[0])) == 1
        assert got[1] == b""
        # The per-partition maximum is honoured for every partition, the first one too.
        sock.sendall(fetch_frame(3, "capped", [(0, 0), (1, 0)], partition_max_bytes=300_000))
        got = fetched_records(read_response(sock))
        for records in got.values():
            sizes = batch_sizes(records)
            assert len(sizes) == 1 or len(records) <= 300_000
            assert records
    finally:
        sock.close()


def test_a_large_fetch_returns_contiguous_whole_batches(builtin_broker: RunningBroker) -> None:
    _fill(builtin_broker.bootstrap, "large", 2, 40, 100_000)
    sock = connect(builtin_broker.port)
    try:
        sock.sendall(fetch_frame(1, "large", [(0, 0), (1, 0)]))
        got = fetched_records(read_response(sock))
        for records in got.values():  # read in pieces, served as one run of batches
            assert batch_offsets(records) == list(range(40))
    finally:
        sock.close()


def test_a_consumer_that_reads_late_gets_every_pipelined_response_in_order(
    builtin_broker: RunningBroker,
) -> None:
    _fill(builtin_broker.bootstrap, "late", 1, 40, 100_000)
    sock = connect(builtin_broker.port, rcvbuf=16_384)
    try:
        sock.sendall(b"".join(fetch_frame(cid, "late", [(0, 0)]) for cid in range(3)))
        time.sleep(0.5)  # the broker fills the socket and stops taking this client's requests
        for cid in range(3):
            response = read_response(sock)
            assert correlation_id(response) == cid
            assert batch_offsets(fetched_records(response)[0]) == list(range(40))
        sock.sendall(api_versions_frame(9))
        assert correlation_id(read_response(sock)) == 9
    finally:
        sock.close()


def test_fetch_max_bytes_below_one_batch_still_returns_that_batch(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory({"fetch.max.bytes": "1024"})
    _fill(broker.bootstrap, "tiny-cap", 1, 10, 50_000)
    sock = connect(broker.port)
    try:
        sock.sendall(fetch_frame(1, "tiny-cap", [(0, 0)]))
        sizes = batch_sizes(fetched_records(read_response(sock))[0])
        assert len(sizes) == 1 and sizes[0] > 1024
    finally:
        sock.close()


def test_request_budget_pauses_a_client_instead_of_closing_it(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory({"queued.max.request.bytes": "1000000"})
    # A valid ApiVersions v0 request padded to 900 kB (Kafka ignores trailing bytes).
    header = bytes.fromhex("0012000000000005") + b"\x00\x03raw"
    size = 900_000
    head = struct.pack(">i", size) + header
    rest = b"\x00" * (size - len(header) - 600_000)
    socks = [connect(broker.port) for _ in range(3)]
    try:
        # Three partial requests together declare far more than the budget: the broker stops
        # reading the one(s) that do not fit, and closes none.
        senders = [
            threading.Thread(target=sock.sendall, args=(head + b"\x00" * 600_000,))
            for sock in socks
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(TIMEOUT_S)
        finishers = [threading.Thread(target=sock.sendall, args=(rest,)) for sock in socks]
        for finisher in finishers:
            finisher.start()
        for sock in socks:
            assert correlation_id(read_response(sock)) == 5
        for finisher in finishers:
            finisher.join(TIMEOUT_S)
        for cid, sock in enumerate(socks):  # and they keep being served
            sock.sendall(api_versions_frame(cid))
            assert correlation_id(read_response(sock)) == cid
    finally:
        for sock in socks:
            sock.close()


# --- stalled consumers against a broker process ------------------------------------------------

STALLED = 8
RSS_LIMIT_MB = 200
WORST_PRODUCE_MS = 500


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def broker_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embedded_broker",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
            "--log-level",
            "INFO",
            "--config",
            "log.segment.bytes=536870912",
            "--config",
            "connections.max.idle.ms=60000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        port = 0
        for line in proc.stdout:
            if match := re.search(r"Topicscope broker ready on [\d.]+:(\d+)", line):
                port = int(match.group(1))
                break
        assert port, f"the broker did not start (exit {proc.poll()})"
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield proc, port
    finally:
        proc.kill()
        proc.wait(TIMEOUT_S)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/status")
def test_stalled_consumers_do_not_grow_memory_or_starve_a_producer(
    broker_process: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = broker_process
    bootstrap = f"127.0.0.1:{port}"
    _fill(bootstrap, "big", 1, 1000, 100_000)  # 100 MB in one partition
    baseline = _rss_mb(proc.pid)
    prod = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1})
    prod.produce("big", b"warm-up", partition=0)
    assert prod.flush(TIMEOUT_S) == 0
    stalled: list[socket.socket] = []
    try:
        for i in range(STALLED):
            sock = connect(port, rcvbuf=16_384)
            # Pipelined fetches of everything, never read.
            frames = b"".join(fetch_frame(i * 10 + n, "big", [(0, 0)]) for n in range(4))
            sock.sendall(frames)
            stalled.append(sock)
        latencies: list[float] = []
        peak = baseline
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            start = time.monotonic()
            prod.produce("big", b"x" * 100, partition=0)
            assert prod.flush(TIMEOUT_S) == 0, "a produce was never acknowledged"
            latencies.append(time.monotonic() - start)
            peak = max(peak, _rss_mb(proc.pid))
            assert peak < RSS_LIMIT_MB, f"broker RSS {peak:.0f} MB (was {baseline:.0f} MB)"
            time.sleep(0.02)
        worst = max(latencies) * 1000
        assert worst < WORST_PRODUCE_MS, f"worst produce took {worst:.0f} ms"
        assert len(latencies) > 20
        # A consumer that does read keeps getting data while the stalled ones hold the budget.
        reader = connect(port)
        try:
            reader.sendall(fetch_frame(1, "big", [(0, 0)], max_bytes=MAX_I32))
            assert fetched_records(read_response(reader))[0]
        finally:
            reader.close()
    finally:
        for sock in stalled:
            sock.close()
