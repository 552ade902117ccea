"""A cluster node's broker serves no request before its controller link is attached: until
then it would answer from its local copy of the metadata as a single broker would (leading
every local partition), so a client could write to a broker that is no longer the leader."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
from kio.schema.api_versions.v0 import request as api_versions

from embedded_broker import runner as runner_module
from embedded_broker.runner import BrokerRunner
from embedded_broker.state import BrokerState
from tests.integration.groups.wire import WireClient

# the slow step after listening that opened the window (a loaded machine's thread pool)
SLOW_STEP_S = 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_no_request_is_answered_before_on_started_has_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_warning = runner_module.listeners_warning

    def slow_warning(*args: Any) -> str | None:
        time.sleep(SLOW_STEP_S)
        return real_warning(*args)

    monkeypatch.setattr(runner_module, "listeners_warning", slow_warning)
    port = _free_port()
    attached_at: list[float] = []
    answered_at: list[float] = []
    stop = threading.Event()

    def attach(_state: BrokerState) -> None:
        attached_at.append(time.monotonic())

    def ask() -> None:
        """Send ApiVersions as soon as anything listens; note when the first is answered."""
        while not stop.is_set() and not answered_at:
            try:
                client = WireClient(f"127.0.0.1:{port}")
            except OSError:
                time.sleep(0.01)
                continue
            try:
                client.send(api_versions.ApiVersionsRequest())
                answered_at.append(time.monotonic())
            except OSError:
                time.sleep(0.01)
            finally:
                client.close()

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    broker = BrokerRunner(port=port, in_memory=True, on_started=attach)
    try:
        broker.start(timeout=60)
        asker.join(30)
    finally:
        stop.set()
        broker.stop()
    assert attached_at and answered_at
    assert answered_at[0] > attached_at[0], "a request was answered before the link attached"
