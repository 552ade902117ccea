"""A broker reachable from other computers warns that it has no authentication."""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from embedded_broker.exposure import exposure_warning, is_loopback
from embedded_broker.runner import BrokerRunner

WARNING = "has no authentication or encryption"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.20", False),
        ("10.0.0.1", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert (exposure_warning(host, 9092) is None) is loopback


def _broker_output_until(marker: str, *args: str) -> str:
    """Start topicscope-broker, return its stderr up to a line holding ``marker``, stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedded_broker", "--port", "0", "--in-memory", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr or ()], daemon=True).start()
    seen: list[str] = []
    try:
        while not seen or marker not in seen[-1]:
            try:
                seen.append(lines.get(timeout=30))
            except queue.Empty:
                raise AssertionError(f"no {marker!r} from the broker: {''.join(seen)}") from None
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return "".join(seen)


def test_all_interfaces_prints_the_no_authentication_warning() -> None:
    out = _broker_output_until("ready on", "--host", "0.0.0.0")
    assert WARNING in out
    assert "The broker listens on 0.0.0.0 port" in out


def test_loopback_prints_no_warning() -> None:
    out = _broker_output_until("ready on", "--host", "127.0.0.1")
    assert "Topicscope broker ready on 127.0.0.1" in out
    assert WARNING not in out


def test_warning_shown_even_when_the_log_level_hides_warnings() -> None:
    out = _broker_output_until("warning", "--host", "0.0.0.0", "--log-level", "ERROR")
    assert "topicscope-broker: warning: The broker listens on 0.0.0.0 port" in out
    assert WARNING in out


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_app_runner_logs_the_warning_for_a_non_loopback_address(
    host: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    runner = BrokerRunner(host=host, port=0, in_memory=True)
    try:
        runner.start()
    finally:
        runner.stop()
    warnings = [r for r in caplog.records if WARNING in r.getMessage()]
    assert [r.levelno for r in warnings] == ([logging.WARNING] if warned else [])
