"""A `topicscope-broker` in a process of its own, for tests that kill -9 or restart it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from embedded_broker.ports import free_port_run


def free_port() -> int:
    """A port a broker can be restarted on (below the ephemeral range: embedded_broker.ports)."""
    return free_port_run("127.0.0.1")


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


class LoggedBrokerProcess:
    """topicscope-broker in its own process on a fixed port, with ``config`` settings, its output
    appended to ``log_path`` (so clients reconnect to the same address after a restart)."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        log_path: Path,
        config: Mapping[str, str],
        start_s: float,
    ) -> None:
        self.start_s = start_s
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        settings = [a for k, v in config.items() for a in ("--config", f"{k}={v}")]
        args = ["--port", str(port), "--data-dir", str(data_dir), "--log-level", "INFO"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "embedded_broker", *args, *settings],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + start_s
        while not re.search(r"ready on [\d.]+:\d+", log_path.read_text(errors="replace")):
            assert self.proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "topicscope-broker did not start"
            time.sleep(0.05)  # the process's own pace

    def stop(self, sig: signal.Signals = signal.SIGKILL) -> int:
        """Send ``sig`` unless it has ended already, wait for it; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=self.start_s)
        self.log.close()
        return code
