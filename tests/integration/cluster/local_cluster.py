"""A real ``topicscope-broker --brokers N`` cluster in child processes, for the cluster tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

SESSION_TIMEOUT_MS = 2000
HEARTBEAT_MS = 300
START_TIMEOUT_S = 20.0
# small timeouts so a killed broker is fenced within seconds
CLUSTER_SETTINGS = {
    "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
    "broker.heartbeat.interval.ms": str(HEARTBEAT_MS),
}


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``condition`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def processes_gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


class LocalCluster:
    """The launcher process, cluster.json, and nodes restarted by hand with --node."""

    def __init__(
        self, data_dir: Path, brokers: int, extra: list[str], log_path: Path | None = None
    ) -> None:
        self.data_dir = data_dir
        self.brokers = brokers
        args = ["--brokers", str(brokers), "--data-dir", str(data_dir), "--port", "0"]
        for key, value in CLUSTER_SETTINGS.items():
            args += ["--config", f"{key}={value}"]
        # the nodes log to the launcher's stderr: kept in ``log_path`` when a test reads it
        log_file = log_path.open("wb") if log_path is not None else None
        self.launcher = subprocess.Popen(
            [sys.executable, "-m", "embedded_broker", *args, *extra],
            stdout=subprocess.DEVNULL,
            stderr=log_file if log_file is not None else subprocess.DEVNULL,
        )
        if log_file is not None:
            log_file.close()  # the launcher holds its own copy
        self.restarted: list[subprocess.Popen[bytes]] = []

    def info(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.data_dir / "cluster.json").read_text())
        except (OSError, ValueError):
            return {}
        return data

    def states(self) -> dict[int, str]:
        data = self.info()
        if not data:
            return {}
        nodes = [data["controller"], *data["brokers"]]
        return {n["id"]: n["state"] for n in nodes}

    def node(self, node_id: int) -> dict[str, Any]:
        data = self.info()
        found: dict[str, Any] = next(
            n for n in [data["controller"], *data["brokers"]] if n["id"] == node_id
        )
        return found

    def bootstrap(self, without: int | None = None) -> str:
        return ",".join(
            f"{b['host']}:{b['port']}" for b in self.info()["brokers"] if b["id"] != without
        )

    def wait_all_active(self) -> None:
        ids = [100, *range(101, 101 + self.brokers)]
        wait_for(
            lambda: all(self.states().get(i) == "active" for i in ids),
            START_TIMEOUT_S,
            "every node to be active in cluster.json",
        )

    def kill(self, node_id: int) -> None:
        os.kill(int(self.node(node_id)["pid"]), signal.SIGKILL)

    def restart_node(self, node_id: int, *, wait: bool = True) -> None:
        """Start one node again with --node and (``wait``) until it is active in its new
        process."""
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "embedded_broker",
                "--data-dir",
                str(self.data_dir),
                "--node",
                str(node_id),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.restarted.append(proc)
        if not wait:
            return
        wait_for(
            lambda: self.node(node_id)["pid"] == proc.pid and self.states()[node_id] == "active",
            START_TIMEOUT_S,
            f"node {node_id} to be active again",
        )

    def stop(self) -> None:
        for proc in [*self.restarted, self.launcher]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.restarted, self.launcher]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # children outlive nothing: any node still running here is a bug, but do not leak it
        data = self.info()
        for node in [data.get("controller", {}), *data.get("brokers", [])]:
            pid = node.get("pid")
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})
