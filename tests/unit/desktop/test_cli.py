"""The command lines: `topicscope --self-test` where the user asked, `topicscope-broker --help`."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from embedded_broker.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[3]


def _free_port(span: int = 5) -> int:
    """A port P with P..P+span-1 free: the self-test's cluster takes the ports after P."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + span > 65535:
            continue
        try:
            with contextlib.ExitStack() as held:
                for p in range(port, port + span):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no run of free ports found")


def _self_test_timeout_s(idle_s: float = 120.0) -> float:
    """``idle_s`` stretched with the load (at most 3x): the self-test starts a local cluster's
    five interpreters and waits out a failover; it took 54 s at a load of 12.6 on 2 cores,
    against about 18 s at a load of 3."""
    try:
        per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        per_core = 1.0
    return idle_s * min(max(per_core, 1.0), 3.0)


def test_self_test_uses_the_local_port_and_data_dir(tmp_path: Path) -> None:
    port, data = _free_port(), tmp_path / "broker-data"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    args = ["--self-test", "--local-port", str(port), "--data-dir", str(data)]
    done = subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        capture_output=True,
        text=True,
        timeout=_self_test_timeout_s(),
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"broker: 127.0.0.1:{port} (data in {data})" in done.stdout
    assert any(data.iterdir())  # the user's directory holds the broker's files, and stays


def test_broker_help_shows_the_defaults() -> None:
    text = " ".join(build_parser().format_help().split())
    assert "(default: 127.0.0.1)" in text
    assert "(default: 9092)" in text
    assert "(default: INFO)" in text
    assert "data directory (default:" in text
    assert "listeners=PLAINTEXT://" in text  # the security section is still there
