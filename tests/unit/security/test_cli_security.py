"""topicscope-broker with listeners: SCRAM users at start, and warnings only where deserved."""

from __future__ import annotations

import subprocess
import sys

from tests.unit.test_cli_warnings import _broker_output_until

OPEN = "ask nobody to authenticate"


def test_sasl_listener_on_all_addresses_is_not_warned_about() -> None:
    out = _broker_output_until(
        "Listener SASL_PLAINTEXT on",
        "--config",
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://0.0.0.0:0",
        "--add-scram",
        "SCRAM-SHA-512=[name=alice,password=alice-secret]",
    )
    assert "Listener PLAINTEXT on 127.0.0.1:" in out
    assert OPEN not in out and "has no authentication" not in out


def test_open_listener_next_to_a_sasl_one_is_warned_about() -> None:
    out = _broker_output_until(
        "Listener",
        "--config",
        "listeners=OPEN://0.0.0.0:0,SASL_PLAINTEXT://0.0.0.0:0",
        "--config",
        "listener.security.protocol.map=OPEN:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    )
    assert OPEN in out and "OPEN on 0.0.0.0 port" in out


def test_bad_listener_settings_stop_with_a_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "embedded_broker", "--in-memory", "--config", "listeners=FOO://x:1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "Listener FOO has no security protocol" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "embedded_broker", "--in-memory", "--add-scram", "alice:pw"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "Invalid SCRAM user" in done.stderr
