"""A `topicscope-broker` in a process of its own, for tests that kill -9 or restart it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker_process(data_dir: Path, port: int) -> subprocess.Popen[str]:
    """Start the broker on ``port`` and return once it says it is ready (60 s at most)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedded_broker", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if re.search(r"Topicscope broker ready on 127\.0\.0\.1:\d+", line):
            break
        assert time.monotonic() < deadline, "broker did not start"
    else:
        raise AssertionError(f"broker exited with {proc.wait()}")
    # keep draining its output so a chatty broker never blocks on a full pipe
    threading.Thread(target=lambda: proc.stdout and proc.stdout.read(), daemon=True).start()
    return proc
