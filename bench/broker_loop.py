"""Parts (d) to (f) of bench.broker: event-loop latency under load, RSS with stalled consumers,
shutdown time with 5,000 partitions — all against a built-in broker process of its own.

(d) p99 and max of ApiVersions round trips on an idle connection (one every 10 ms) while another
client creates a 5,000-partition topic, a producer process writes at full speed and 4 consumers
send big Fetch requests and never read the answers; (e) the broker's peak VmRSS meanwhile;
(f) the seconds from SIGTERM to the process's exit once every partition of that topic holds data.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer

from bench.support import HOST, builtin_broker, emit, rss_mb
from tests.integration.broker.partition_wire import create_topics, fetch, produce
from tests.integration.groups.wire import WireClient
from tests.unit.storage.batches import simple_batch

LOAD_TOPIC = "bench-load"
WIDE_TOPIC = "bench-wide"
LOAD_PARTITIONS = 4
PROBE_INTERVAL_S = 0.01
RECORD = b"x" * 1024
FETCH_BYTES = 50 * 1024 * 1024  # per request and per partition, as a greedy consumer asks


@dataclass(frozen=True)
class Sizes:
    partitions: int  # of the topic created during the window (and closed at shutdown)
    prefill_mb: int  # data the stalled consumers ask for
    window_s: float  # how long the loop is probed
    stalled: int = 4
    fetches_each: int = 8  # pipelined Fetch requests per stalled consumer


FULL = Sizes(partitions=5_000, prefill_mb=64, window_s=15.0)
SMALL = Sizes(partitions=500, prefill_mb=8, window_s=4.0)


def _produce_flat_out(bootstrap: str, seconds: float) -> None:
    """In its own process: 1 KiB records as fast as the broker takes them."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": 1})
    deadline = time.monotonic() + seconds
    partition = 0
    while time.monotonic() < deadline:
        try:
            producer.produce(LOAD_TOPIC, RECORD, partition=partition)
            partition = (partition + 1) % LOAD_PARTITIONS
        except BufferError:
            producer.poll(0.01)
        producer.poll(0)
    producer.flush(30)


def _prefill(bootstrap: str, megabytes: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": 1})
    for i in range(megabytes * 1024):
        while True:
            try:
                producer.produce(LOAD_TOPIC, RECORD, partition=i % LOAD_PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120) != 0:
        raise RuntimeError("could not prefill the load topic")


class Probe:
    """ApiVersions v0 round trips on one otherwise idle connection."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.correlation = 0

    def round_trip_s(self) -> float:
        self.correlation += 1
        header = struct.pack(">hhih", 18, 0, self.correlation, -1)
        started = time.perf_counter()
        self.sock.sendall(struct.pack(">i", len(header)) + header)
        size = struct.unpack(">i", self._read(4))[0]
        body = self._read(size)
        elapsed = time.perf_counter() - started
        if struct.unpack_from(">i", body)[0] != self.correlation:
            raise RuntimeError("ApiVersions answer out of order")
        return elapsed

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the broker closed the probe connection")
            data += chunk
        return data


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            with contextlib.suppress(OSError, RuntimeError):
                self.peak = max(self.peak, rss_mb(self.pid))


def _stall(bootstrap: str, sizes: Sizes) -> list[WireClient]:
    """Consumers that ask for everything and never read a byte of the answers."""
    stalled = []
    request = fetch(LOAD_TOPIC, range(LOAD_PARTITIONS), FETCH_BYTES)
    for _ in range(sizes.stalled):
        client = WireClient(bootstrap, client_id="stalled")
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        for _ in range(sizes.fetches_each):
            _send_only(client, request)
        stalled.append(client)
    return stalled


def _send_only(client: WireClient, request: Any) -> None:
    from embedded_broker.protocol.codec import RequestHeader, encode_request

    client.correlation += 1
    header = RequestHeader(
        int(request.__api_key__), int(request.__version__), client.correlation, client.client_id
    )
    client.sock.settimeout(1)
    with contextlib.suppress(TimeoutError):  # a full socket buffer is what a stall looks like
        client.sock.sendall(encode_request(header, request))


def _create_wide(bootstrap: str, partitions: int, result: dict[str, float]) -> None:
    client = WireClient(bootstrap, client_id="creator")
    started = time.perf_counter()
    result["create_started"] = time.monotonic()
    response = client.send(create_topics({WIDE_TOPIC: partitions}))
    result["create_s"] = time.perf_counter() - started
    client.close()
    if response.topics[0].error_code != 0:
        raise RuntimeError(f"creating {WIDE_TOPIC} failed: {response.topics[0]}")


def _fill_wide(bootstrap: str, partitions: int) -> None:
    """One batch in every partition, so shutdown has every log to close."""
    client = WireClient(bootstrap, client_id="filler")
    batch = simple_batch(3)
    for first in range(0, partitions, 1000):
        chunk = range(first, min(first + 1000, partitions))
        response = client.send(produce(WIDE_TOPIC, dict.fromkeys(chunk, batch)))
        if any(p.error_code for p in response.responses[0].partition_responses):
            raise RuntimeError("filling the wide topic failed")
    client.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(sizes: Sizes) -> dict[str, float]:
    """Parts (d), (e) and (f); returns the summary figures."""
    with builtin_broker({"group.initial.rebalance.delay.ms": "0"}) as broker:
        assert broker.proc is not None
        admin = WireClient(broker.bootstrap, client_id="setup")
        admin.send(create_topics({LOAD_TOPIC: LOAD_PARTITIONS}))
        admin.close()
        _prefill(broker.bootstrap, sizes.prefill_mb)
        port = int(broker.bootstrap.rsplit(":", 1)[1])
        probe = Probe(port)
        probe.round_trip_s()

        producer = multiprocessing.get_context("spawn").Process(
            target=_produce_flat_out, args=(broker.bootstrap, sizes.window_s + 5), daemon=True
        )
        producer.start()
        time.sleep(2.0)  # the producer process is up and writing before the window opens
        stalled = _stall(broker.bootstrap, sizes)
        sampler = RssSampler(broker.pid)
        sampler.start()
        created: dict[str, float] = {}
        creator = threading.Thread(
            target=_create_wide, args=(broker.bootstrap, sizes.partitions, created), daemon=True
        )
        round_trips: list[float] = []
        sent_at: list[float] = []
        started = time.monotonic()
        while time.monotonic() - started < sizes.window_s:
            if not creator.is_alive() and not created and time.monotonic() - started > 1.0:
                creator.start()
            sent_at.append(time.monotonic() - started)
            round_trips.append(probe.round_trip_s())
            time.sleep(PROBE_INTERVAL_S)
        creator.join(120)
        sampler.done.set()
        sampler.join()
        producer.join(60)
        loop = {
            "loop_p99_ms": round(_percentile(round_trips, 0.99) * 1000, 1),
            "loop_max_ms": round(max(round_trips) * 1000, 1),
            "probes": len(round_trips),
            "create_s": round(created.get("create_s", -1.0), 2),
            # where in the window the slowest probe and the creation were (seconds)
            "max_at_s": round(sent_at[round_trips.index(max(round_trips))], 2),
            "create_at_s": round(created.get("create_started", started) - started, 2),
        }
        create_from = loop["create_at_s"]
        create_to = create_from + max(loop["create_s"], 0)
        during = [
            rt
            for at, rt in zip(sent_at, round_trips, strict=True)
            if create_from <= at <= create_to
        ]
        loop["max_during_create_ms"] = round(max(during, default=0.0) * 1000, 1)
        emit({"target": "embedded", "test": "loop-latency", **loop})
        emit({"target": "embedded", "test": "rss-stalled", "rss_stalled_mb": sampler.peak})
        for client in stalled:
            client.close()

        _fill_wide(broker.bootstrap, sizes.partitions)
        started = time.perf_counter()
        broker.proc.send_signal(signal.SIGTERM)
        broker.proc.wait(300)
        shutdown_s = round(time.perf_counter() - started, 2)
        emit(
            {
                "target": "embedded",
                "test": "shutdown",
                "partitions": sizes.partitions,
                "shutdown_s": shutdown_s,
            }
        )
    return {
        "loop_p99_ms": loop["loop_p99_ms"],
        "loop_max_ms": loop["loop_max_ms"],
        "rss_stalled_mb": sampler.peak,
        "shutdown_s": shutdown_s,
    }
