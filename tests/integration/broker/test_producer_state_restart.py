"""Idempotent producer state across a real broker process's restarts (kill -9, SIGTERM)."""

from __future__ import annotations

import contextlib
import datetime
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from kio.schema.errors import ErrorCode
from kio.schema.init_producer_id.v4 import request as ipid_req
from kio.schema.init_producer_id.v4 import response as ipid_resp
from kio.schema.produce.v9 import request as prod_req
from kio.schema.produce.v9 import response as prod_resp
from kio.serial import entity_reader

from embedded_broker.protocol.codec import RequestHeader, encode_request
from embedded_broker.protocol.record_batch import iter_batches
from tests.broker_fixtures import BrokerFactory
from tests.integration.cluster.local_cluster import start_timeout_s
from tests.unit.storage.batches import Rec, build_batch

from .clients import TIMEOUT_S, consume, consumer, create_topic

_READY = re.compile(r"Topicscope broker ready on 127\.0\.0\.1:(\d+)")


class BrokerProcess:
    """``python -m embedded_broker`` on a data directory; restartable on the same port."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.extra = list(extra)
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "embedded_broker",
                *("--port", str(self.port), "--data-dir", str(self.data_dir)),
                *("--log-level", "INFO", *self.extra),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.proc = proc
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line)
            ready = _READY.search(line)
            if ready:
                self.port = int(ready.group(1))
                break
        else:
            raise AssertionError(f"broker exited with {proc.wait()}: {''.join(self.output)}")
        threading.Thread(target=self._drain, args=(proc,), daemon=True).start()

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=TIMEOUT_S)

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=TIMEOUT_S) == 0, "".join(self.output[-20:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    process = BrokerProcess(tmp_path / "data")
    process.start()
    yield process
    process.stop()


class RawClient:
    """Produce and InitProducerId as raw frames, so the test controls ids and sequences."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def _call(self, api_key: int, version: int, request: Any) -> bytes:
        self.correlation += 1
        header = RequestHeader(api_key, version, self.correlation, "producer-state-test")
        self.sock.sendall(encode_request(header, request))
        size = struct.unpack(">i", self._exact(4))[0]
        return self._exact(size)

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "connection closed"
            buf += chunk
        return buf

    def init_producer_id(self) -> tuple[int, int]:
        request = ipid_req.InitProducerIdRequest(
            transactional_id=None,
            transaction_timeout=datetime.timedelta(seconds=60),  # type: ignore[arg-type]
        )
        data = self._call(22, 4, request)
        response, _ = entity_reader(ipid_resp.InitProducerIdResponse)(data, 5)
        assert response.error_code == ErrorCode.none
        return int(response.producer_id), int(response.producer_epoch)

    def produce(self, topic: str, records: bytes) -> Any:
        request = prod_req.ProduceRequest(
            transactional_id=None,
            acks=-1,  # type: ignore[arg-type]
            timeout=datetime.timedelta(seconds=30),  # type: ignore[arg-type]
            topic_data=(
                prod_req.TopicProduceData(
                    name=topic,  # type: ignore[arg-type]
                    partition_data=(
                        prod_req.PartitionProduceData(index=0, records=records),  # type: ignore[arg-type]
                    ),
                ),
            ),
        )
        data = self._call(0, 9, request)
        response, _ = entity_reader(prod_resp.ProduceResponse)(data, 5)
        return response.responses[0].partition_responses[0]


def idempotent_batch(pid: int, epoch: int, seq: int, count: int) -> bytes:
    # current timestamps: producer state expires by the last batch's timestamp, as in Kafka
    return build_batch(
        [Rec(b"k", b"value-%d" % (seq + i)) for i in range(count)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        base_timestamp=time.time_ns() // 1_000_000,
    )


def stored_values(bootstrap: str, topic: str) -> list[bytes]:
    cons = consumer(bootstrap)
    try:
        end = cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)[1]
    finally:
        cons.close()
    return [m.value() for m in consume(bootstrap, topic, end)] if end else []


def _damage_snapshots(data_dir: Path) -> None:
    snapshots = sorted((data_dir / "idem-0").glob("*.snapshot"))
    assert snapshots, "a clean shutdown writes a producer state snapshot"
    for path in snapshots:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))


RESTARTS: dict[str, tuple[Callable[[BrokerProcess], None], bool]] = {
    "kill-9": (BrokerProcess.kill9, False),
    "sigterm": (BrokerProcess.terminate, False),
    "sigterm-damaged-snapshot": (BrokerProcess.terminate, True),
}


@pytest.mark.parametrize("how", list(RESTARTS))
def test_retry_after_restart_is_acknowledged_with_its_original_offset(
    broker: BrokerProcess, how: str
) -> None:
    stop, damage = RESTARTS[how]
    create_topic(broker.bootstrap, "idem")
    client = RawClient(broker.port)
    pid, epoch = client.init_producer_id()
    sent = [(0, 3), (3, 2), (5, 1)]  # (first sequence, records): offsets 0, 3 and 5
    for seq, count in sent:
        reply = client.produce("idem", idempotent_batch(pid, epoch, seq, count))
        assert (reply.error_code, reply.base_offset) == (ErrorCode.none, seq)
    client.close()

    stop(broker)  # the client never learns whether its last batches were stored
    if how == "sigterm":
        assert (broker.data_dir / "idem-0" / f"{6:020d}.snapshot").exists()
    if damage:
        _damage_snapshots(broker.data_dir)
    broker.start()

    client = RawClient(broker.port)
    try:
        for seq, count in reversed(sent[1:]):  # retries of batches still in the last five
            reply = client.produce("idem", idempotent_batch(pid, epoch, seq, count))
            assert (reply.error_code, reply.base_offset) == (ErrorCode.none, seq), how
        gap = client.produce("idem", idempotent_batch(pid, epoch, 9, 1))
        assert gap.error_code == ErrorCode.out_of_order_sequence_number
        nxt = client.produce("idem", idempotent_batch(pid, epoch, 6, 1))
        assert (nxt.error_code, nxt.base_offset) == (ErrorCode.none, 6)
    finally:
        client.close()
    assert stored_values(broker.bootstrap, "idem") == [b"value-%d" % i for i in range(7)]
    if damage:
        assert not list((broker.data_dir / "idem-0").glob(f"{6:020d}.snapshot"))


def test_producer_ids_are_never_handed_out_twice_across_restarts(broker: BrokerProcess) -> None:
    seen: list[int] = []
    for stop in (BrokerProcess.kill9, BrokerProcess.terminate, BrokerProcess.kill9):
        client = RawClient(broker.port)
        try:
            seen.extend(client.init_producer_id()[0] for _ in range(3))
        finally:
            client.close()
        stop(broker)
        broker.start()
    client = RawClient(broker.port)
    try:
        seen.append(client.init_producer_id()[0])
    finally:
        client.close()
    assert len(set(seen)) == len(seen), seen
    assert seen == sorted(seen)


class ResponseCutter:
    """A TCP proxy in front of the broker that can swallow the broker's answers.

    While ``swallow`` is set, requests still reach the broker and are appended, but the client
    never hears back: what a crash between the append and the reply does, made certain.
    """

    def __init__(self, target_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.target_port = target_port
        self.swallow = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        try:
            while data := src.recv(65536):
                if not (answers and self.swallow.is_set()):
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def reset_clients(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, upstream in pairs:
            with contextlib.suppress(OSError):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            for sock in (client, upstream):
                # shutdown first: it wakes the pump threads blocked in recv(), without which
                # close() would leave the connection open behind their backs
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self.listener.close()
        self.reset_clients()


def _stored_records(data_dir: Path, topic: str) -> int:
    """Records in whole batches in the broker's files (read while it writes: a partial batch
    at the end is not counted)."""
    total = 0
    for path in data_dir.glob(f"{topic}-*/*.log"):
        total += sum(h.last_offset_delta + 1 for h in iter_batches(path.read_bytes()))
    return total


def test_confluent_idempotent_producer_across_three_kill_9_restarts(tmp_path: Path) -> None:
    """A real idempotent producer whose last batches were stored but never acknowledged when
    the broker died retries them after the restart: each is stored once, in order."""
    from confluent_kafka import Producer

    data_dir = tmp_path / "data"
    first = BrokerProcess(data_dir)
    first.start()
    first.terminate()
    proxy = ResponseCutter(first.port)
    broker = BrokerProcess(data_dir, "--config", f"advertised.port={proxy.port}")
    broker.port = first.port
    broker.start()
    partitions = 3
    prod: Producer | None = None
    try:
        bootstrap = f"127.0.0.1:{proxy.port}"
        create_topic(bootstrap, "chaos", partitions=partitions)
        client_errors: list[str] = []
        prod = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 1,
                "batch.num.messages": 50,  # several small requests in flight at once
                "message.timeout.ms": 60_000,
                "retry.backoff.ms": 50,
                "reconnect.backoff.ms": 20,
                "reconnect.backoff.max.ms": 200,
                "error_cb": lambda err: client_errors.append(str(err)),
            }
        )
        errors: list[str] = []
        acked: set[bytes] = set()

        def on_delivery(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(str(err))
            else:
                acked.add(msg.value())

        counters = [0] * partitions

        def send(n: int) -> None:
            for i in range(n):
                p = i % partitions
                value = b"%d:%08d" % (p, counters[p])
                counters[p] += 1
                while True:
                    try:
                        prod.produce("chaos", value=value, partition=p, on_delivery=on_delivery)
                        break
                    except BufferError:
                        prod.poll(0.01)
                prod.poll(0)

        deadline = time.monotonic() + 50
        for _ in range(3):
            send(3_000)
            while len(acked) < sum(counters) - 2_000:  # the broker is busy appending
                assert time.monotonic() < deadline, "the producer stalled"
                prod.poll(0.005)
            proxy.swallow.set()  # from here the broker appends, but its answers are lost
            send(300)
            stored, stable_since = -1, time.monotonic()
            while stored <= len(acked) or time.monotonic() - stable_since < 0.2:
                assert time.monotonic() < deadline, "the broker stored nothing unanswered"
                prod.poll(0.01)
                now = _stored_records(data_dir, "chaos")
                if now != stored:
                    stored, stable_since = now, time.monotonic()
            broker.kill9()
            proxy.reset_clients()
            proxy.swallow.clear()
            broker.start()
            while len(acked) + len(errors) < sum(counters):  # retries, then the rest
                assert time.monotonic() < deadline, (
                    f"the producer did not recover: {len(acked)} of {sum(counters)} acked; "
                    f"client errors {client_errors[-3:]}; broker: {broker.output[-5:]}"
                )
                prod.poll(0.05)
        send(1_000)
        assert prod.flush(30) == 0
        assert not errors, errors[:5]
        assert len(acked) == sum(counters)

        for p in range(partitions):
            values = [m.value() for m in consume(bootstrap, "chaos", counters[p], partitions=[p])]
            cons = consumer(bootstrap)
            try:
                end = cons.get_watermark_offsets(TopicPartition("chaos", p), timeout=TIMEOUT_S)[1]
            finally:
                cons.close()
            assert end == counters[p], f"partition {p}: {end - counters[p]} records stored twice"
            assert [int(v.split(b":")[1]) for v in values] == list(range(counters[p]))
    finally:
        prod = None  # its threads stop retrying the closed proxy
        broker.stop()
        proxy.close()


def test_snapshots_are_taken_periodically_while_running(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory({"log.flush.interval.ms": "50"})
    assert broker.data_dir is not None
    create_topic(broker.bootstrap, "idem")
    client = RawClient(broker.port)
    try:
        pid, epoch = client.init_producer_id()
        for seq in range(3):
            assert client.produce("idem", idempotent_batch(pid, epoch, seq, 1)).base_offset == seq
        snapshot = broker.data_dir / "idem-0" / f"{3:020d}.snapshot"
        deadline = time.monotonic() + start_timeout_s(10)
        while not snapshot.exists():  # written by the periodic job, not at shutdown
            assert time.monotonic() < deadline, "no producer state snapshot while running"
            time.sleep(0.02)
        assert client.produce("idem", idempotent_batch(pid, epoch, 3, 1)).base_offset == 3
        fourth = broker.data_dir / "idem-0" / f"{4:020d}.snapshot"
        while not fourth.exists():
            assert time.monotonic() < deadline, "no snapshot after the next append"
            time.sleep(0.02)
    finally:
        client.close()
    kept = [snapshot.name, fourth.name]  # the last two only
    while sorted(p.name for p in (broker.data_dir / "idem-0").glob("*.snapshot")) != kept:
        assert time.monotonic() < deadline, "older snapshots are not removed"
        time.sleep(0.02)
