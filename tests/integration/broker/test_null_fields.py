"""Raw frames with a forbidden null: that connection is closed with one log line, nothing else.

Kafka's generated readers reject such a request ("non-nullable field ... was serialized as
null") and the broker closes the connection. Before the decode-time check, kio decoded a null
array as None and 23 handlers failed on it with a traceback per request.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterator

import pytest

from embedded_broker.handlers import API_TABLE
from tests.broker_fixtures import RunningBroker
from tests.schema_frames import SchemaFrame, null_frames, valid_frame

from .clients import create_topic

API_KEYS = sorted(
    key
    for key, spec in API_TABLE.items()
    if any(True for v in range(spec.min_version, spec.max_version + 1) for _ in null_frames(key, v))
)


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    running = RunningBroker(None, {}, in_memory=True)
    try:
        create_topic(running.bootstrap, "t")  # the name every generated request uses
        yield running
    finally:
        running.stop()


def _closed_by_broker(sock: socket.socket) -> bool:
    try:
        return sock.recv(4) == b""
    except ConnectionResetError:
        return True


def _api_versions(sock: socket.socket) -> int:
    """Send ApiVersions v3 on an open connection; return its error code."""
    sock.sendall(valid_frame(18, 3))
    size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
    body = sock.recv(size, socket.MSG_WAITALL)
    assert struct.unpack(">i", body[:4])[0] == 7  # the correlation id valid_frame uses
    return int(struct.unpack(">h", body[4:6])[0])


def _frames(api_key: int) -> list[SchemaFrame]:
    spec = API_TABLE[api_key]
    return [
        frame
        for version in range(spec.min_version, spec.max_version + 1)
        for frame in null_frames(api_key, version)
    ]


@pytest.mark.parametrize("api_key", API_KEYS)
def test_forbidden_null_closes_only_that_connection_with_one_log_line(
    broker: RunningBroker, api_key: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    def broker_records() -> list[logging.LogRecord]:
        # the broker's own: earlier tests' app threads may still log in this process
        return [r for r in caplog.records if r.name.startswith("embedded_broker")]

    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as bystander:
        for frame in _frames(api_key):
            seen = len(broker_records())
            with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
                sock.sendall(frame.sized)
                assert _closed_by_broker(sock), f"{frame.api_name} v{frame.version}: answered"
            new = broker_records()[seen:]
            where = f"{frame.api_name} v{frame.version} {frame.field}"
            assert len(new) == 1, f"{where}: {[r.getMessage() for r in new]}"
            record = new[0]
            assert record.levelno == logging.WARNING, where
            assert record.exc_info is None, where
            message = record.getMessage()
            assert "\n" not in message
            assert f"malformed {frame.api_name} v{frame.version} request" in message
            assert f"field {frame.field} is null" in message
        assert _api_versions(bystander) == 0  # other connections are unaffected
    assert not any(r.exc_info or "Traceback" in r.getMessage() for r in broker_records())
    assert broker.running
