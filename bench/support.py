"""Shared pieces for the benchmarks: JSON-lines output, RSS readings, a headless built-in broker."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def emit(record: Mapping[str, Any]) -> None:
    """Print one JSON line and flush, so a long run shows progress as it goes."""
    print(json.dumps(record, sort_keys=True), flush=True)


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB, read from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for pid {pid}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _api_versions_ok(port: int) -> bool:
    """One ApiVersions v0 round trip over a raw socket: the broker is really serving."""
    header = struct.pack(">hhih", 18, 0, 1, -1)  # api key, version, correlation id, null client id
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.sendall(struct.pack(">i", len(header)) + header)
            size_bytes = sock.recv(4)
            if len(size_bytes) < 4:
                return False
            (size,) = struct.unpack(">i", size_bytes)
            body = b""
            while len(body) < size:
                chunk = sock.recv(size - len(body))
                if not chunk:
                    return False
                body += chunk
            (correlation_id, error_code) = struct.unpack(">ih", body[:6])
            return correlation_id == 1 and error_code == 0
    except OSError:
        return False


def wait_api_versions(port: int, timeout: float = 60.0) -> float:
    """Poll until ApiVersions answers; return when it did (time.perf_counter())."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _api_versions_ok(port):
            return time.perf_counter()
        time.sleep(0.005)
    raise TimeoutError(f"no ApiVersions answer on port {port} within {timeout}s")


@dataclass
class BuiltinBroker:
    """A `topicscope-broker` process of its own, so its CPU and memory are measured apart."""

    bootstrap: str
    pid: int
    startup_s: float
    proc: subprocess.Popen[bytes] | None = None  # for benchmarks that stop it themselves


@contextlib.contextmanager
def builtin_broker(config: Mapping[str, str] | None = None) -> Iterator[BuiltinBroker]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="topicscope-bench-") as data_dir:
        cmd = [sys.executable, "-m", "embedded_broker", "--host", HOST, "--port", str(port)]
        cmd += ["--data-dir", data_dir, "--log-level", "WARNING"]
        for key, value in (config or {}).items():
            cmd += ["--config", f"{key}={value}"]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        try:
            ready = wait_api_versions(port)
            yield BuiltinBroker(f"{HOST}:{port}", proc.pid, round(ready - started, 3), proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cpu_count() -> int:
    return os.cpu_count() or 1
