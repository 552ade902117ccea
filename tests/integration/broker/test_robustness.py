"""Hostile input over raw sockets closes only that connection; ordering and pipelining hold."""

from __future__ import annotations

import socket
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.schema.api_versions.v0 import response as av0_resp
from kio.schema.api_versions.v3 import request as av3
from kio.schema.describe_log_dirs.v4 import request as dld4
from kio.schema.describe_log_dirs.v4 import response as dld4_resp
from kio.schema.errors import ErrorCode
from kio.serial import entity_reader

from embedded_broker.protocol.codec import RequestHeader, encode_request
from embedded_broker.txn.version import tv2_enabled
from tests.broker_fixtures import BrokerFactory, RunningBroker

from .clients import TIMEOUT_S, admin, create_topic, produce_all, producer


def _connect(broker: RunningBroker) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S)
    return sock


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def _read_response(sock: socket.socket) -> bytes:
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    return _recv_exact(sock, size)


def _assert_closed(sock: socket.socket) -> None:
    try:
        data = sock.recv(1024)
    except (ConnectionResetError, TimeoutError) as exc:
        assert not isinstance(exc, TimeoutError), "the broker kept the connection open"
        return
    assert data == b""


def _assert_broker_serves(broker: RunningBroker) -> None:
    md = admin(broker.bootstrap).list_topics(timeout=TIMEOUT_S)
    assert md.brokers


def _api_versions_frame(correlation_id: int) -> bytes:
    return encode_request(
        RequestHeader(18, 3, correlation_id, "raw"),
        av3.ApiVersionsRequest(client_software_name="raw", client_software_version="1"),
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        struct.pack(">i", 0x7FFFFFFF) + b"\x00" * 16,
        struct.pack(">i", -5) + b"\x00" * 16,
        struct.pack(">i", 104_857_601),
        struct.pack(">i", 12) + bytes.fromhex("03e7000000000001ffff") + b"\x00\x00",  # api 999
        struct.pack(">i", 10) + bytes.fromhex("0000000100000001ffff"),  # Produce v1: too old
        struct.pack(">i", 3) + b"\x00\x12\x00",  # header cut short
        struct.pack(">i", 14) + bytes.fromhex("0003000c00000001ffff00") + b"\xff\xff\xff",
    ],
    ids=["http", "huge", "negative", "over-limit", "unknown-api", "old-version", "short", "junk"],
)
def test_bad_input_closes_only_that_connection(
    builtin_broker: RunningBroker, payload: bytes
) -> None:
    good = _connect(builtin_broker)
    bad = _connect(builtin_broker)
    try:
        bad.sendall(payload)
        _assert_closed(bad)
        good.sendall(_api_versions_frame(1))
        assert _read_response(good)[:4] == struct.pack(">i", 1)
        _assert_broker_serves(builtin_broker)
    finally:
        good.close()
        bad.close()


def test_truncated_frame_then_disconnect(builtin_broker: RunningBroker) -> None:
    sock = _connect(builtin_broker)
    sock.sendall(struct.pack(">i", 1000) + b"\x00" * 10)
    sock.close()
    _assert_broker_serves(builtin_broker)


def test_unknown_api_versions_version_gets_v0_error_listing_versions(
    builtin_broker: RunningBroker,
) -> None:
    sock = _connect(builtin_broker)
    try:
        frame = bytes.fromhex("0012006300000009") + b"\x00\x03raw" + b"\x00\x00\x00"
        sock.sendall(struct.pack(">i", len(frame)) + frame)
        response = _read_response(sock)
        assert response[:4] == struct.pack(">i", 9)
        body, _ = entity_reader(av0_resp.ApiVersionsResponse)(response, 4)
        assert body.error_code == ErrorCode.unsupported_version
        keys = {k.api_key: (k.min_version, k.max_version) for k in body.api_keys}
        assert keys[18] == (0, 4)
        assert keys[0] == (3, 13 if tv2_enabled() else 11)  # 12: transactions v2, 13: topic ids
        assert keys[1] == (4, 18)  # Kafka 4.3.1's Fetch versions
    finally:
        sock.close()


def test_pipelined_requests_are_answered_in_order(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "pipe")
    sock = _connect(builtin_broker)
    try:
        frames = []
        for cid in range(1, 101):
            if cid % 3 == 0:
                frames.append(
                    encode_request(
                        RequestHeader(35, 4, cid, "raw"), dld4.DescribeLogDirsRequest(topics=None)
                    )
                )
            else:
                frames.append(_api_versions_frame(cid))
        sock.sendall(b"".join(frames))
        for cid in range(1, 101):
            response = _read_response(sock)
            assert struct.unpack(">i", response[:4])[0] == cid
            if cid % 3 == 0:
                body, _ = entity_reader(dld4_resp.DescribeLogDirsResponse)(response, 5)
                names = {t.name for r in body.results for t in r.topics}
                assert "pipe" in names
    finally:
        sock.close()


def test_describe_log_dirs_reports_partition_sizes(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "sized", partitions=2)
    produce_all(producer(bs), "sized", [{"value": b"x" * 1000, "partition": 1}] * 20)
    sock = _connect(builtin_broker)
    try:
        sock.sendall(
            encode_request(RequestHeader(35, 4, 5, "raw"), dld4.DescribeLogDirsRequest(topics=None))
        )
        body, _ = entity_reader(dld4_resp.DescribeLogDirsResponse)(_read_response(sock), 5)
        sizes = {
            (t.name, p.partition_index): p.partition_size
            for r in body.results
            for t in r.topics
            for p in t.partitions
        }
        assert sizes[("sized", 0)] == 0
        assert sizes[("sized", 1)] >= 20_000
    finally:
        sock.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.binary(min_size=1, max_size=200))
def test_fuzzed_frames_over_a_socket(builtin_broker: RunningBroker, body: bytes) -> None:
    sock = _connect(builtin_broker)
    try:
        sock.sendall(struct.pack(">i", len(body)) + body + _api_versions_frame(77))
        sock.settimeout(TIMEOUT_S)
        # Either the garbage was rejected (closed) or answered; the broker must not hang.
        try:
            while True:
                response = _read_response(sock)
                if response[:4] == struct.pack(">i", 77):
                    break
        except (ConnectionError, OSError):
            pass
    finally:
        sock.close()
    good = _connect(builtin_broker)
    try:
        good.sendall(_api_versions_frame(1))
        assert _read_response(good)[:4] == struct.pack(">i", 1)
    finally:
        good.close()


def test_connections_above_max_connections_are_closed(
    builtin_broker_factory: BrokerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    broker = builtin_broker_factory({"max.connections": "3"})
    held = [_connect(broker) for _ in range(3)]
    try:
        for cid, sock in enumerate(held):  # an answer proves the broker counts the connection
            sock.sendall(_api_versions_frame(cid))
            assert _read_response(sock)[:4] == struct.pack(">i", cid)
        for _ in range(2):
            extra = _connect(broker)
            _assert_closed(extra)
            extra.close()
        refusals = [r for r in caplog.records if "max.connections" in r.getMessage()]
        assert len(refusals) == 1  # one line for a spell of refusals
        held.pop().close()
        # the freed slot is taken once the broker has seen the close
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            sock = _connect(broker)
            try:
                sock.sendall(_api_versions_frame(9))
                assert _read_response(sock)[:4] == struct.pack(">i", 9)
                break
            except (ConnectionError, OSError):
                assert time.monotonic() < deadline, "a freed connection slot was never reused"
                time.sleep(0.05)
            finally:
                sock.close()
        for cid, sock in enumerate(held):  # the held connections were never disturbed
            sock.sendall(_api_versions_frame(cid))
            assert _read_response(sock)[:4] == struct.pack(">i", cid)
    finally:
        for sock in held:
            sock.close()
