"""A handler bug stays visible (its traceback, once) but a repeating client can't flood the log."""

from __future__ import annotations

import dataclasses
import logging
import socket
import struct
from typing import Any

import pytest

from embedded_broker.handlers import API_TABLE
from tests.broker_fixtures import RunningBroker
from tests.schema_frames import valid_frame

DESCRIBE_CLUSTER = 60


def _closed_by_broker(sock: socket.socket) -> bool:
    try:
        return sock.recv(4) == b""
    except ConnectionResetError:
        return True


def test_repeated_handler_failure_logs_one_line_each_and_one_traceback(
    builtin_broker: RunningBroker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(ctx: Any, request: Any, state: Any) -> Any:
        raise KeyError("deliberate")

    spec = API_TABLE[DESCRIBE_CLUSTER]
    monkeypatch.setitem(API_TABLE, DESCRIBE_CLUSTER, dataclasses.replace(spec, handler=broken))
    caplog.set_level(logging.INFO)
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", builtin_broker.port), timeout=10) as sock:
            sock.sendall(valid_frame(DESCRIBE_CLUSTER, spec.max_version))
            assert _closed_by_broker(sock)
    failures = [r for r in caplog.records if "Request handler failed" in r.getMessage()]
    assert len(failures) == 3
    assert all(r.levelno == logging.ERROR for r in failures)
    assert all(
        "DescribeCluster v" in r.getMessage() and "KeyError" in r.getMessage() for r in failures
    )
    # The first carries the traceback a developer needs; the repeats are one line each.
    assert [r.exc_info is not None for r in failures] == [True, False, False]
    assert len([r for r in caplog.records if r.name == "embedded_broker.server"]) == 3

    with socket.create_connection(("127.0.0.1", builtin_broker.port), timeout=10) as sock:
        sock.sendall(valid_frame(18, 3))
        size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
        assert len(sock.recv(size, socket.MSG_WAITALL)) == size
