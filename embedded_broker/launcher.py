"""``topicscope-broker --brokers N``: start the controller and N brokers as child processes,
describe them in DIR/cluster.json, and stop them all on Ctrl-C / SIGTERM."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

from .cluster_file import (
    CLUSTER_FILE,
    CONTROLLER_ID,
    FIRST_BROKER_ID,
    ClusterFileError,
    read_cluster,
    update_cluster,
    write_cluster,
)
from .cluster_node import PARENT_ENV, watch_parent
from .ports import free_port_run

log = logging.getLogger("embedded_broker")

STOP_TIMEOUT_S = 15.0


class LaunchError(RuntimeError):
    """The cluster could not be started; the message says why."""


def node_command(cluster_dir: Path, node_id: int, log_level: str) -> list[str]:
    """The command line that runs one node: this interpreter's module, or the frozen
    executable with --broker (its entry point hands the rest to topicscope-broker)."""
    args = ["--data-dir", str(cluster_dir), "--node", str(node_id), "--log-level", log_level]
    if getattr(sys, "frozen", False):
        return [sys.executable, "--broker", *args]
    return [sys.executable, "-m", "embedded_broker", *args]


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux only)
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def plan_cluster(
    cluster_dir: Path,
    brokers: int,
    *,
    host: str,
    port: int,
    racks: list[str],
    settings: dict[str, str],
) -> dict[str, Any]:
    """The cluster.json content: kept from an earlier run of the same size (same cluster id),
    otherwise brokers 101.. on port, port+1, ... and the controller on port+N (any free
    ports when port is 0)."""
    with contextlib.suppress(ClusterFileError):
        old = read_cluster(cluster_dir)
        if len(old["brokers"]) == brokers:
            old["settings"] = {**old.get("settings", {}), **settings}
            return old
    if (cluster_dir / CLUSTER_FILE).exists():
        raise LaunchError(
            f"{cluster_dir} holds a cluster of another size; use --brokers "
            f"{len(read_cluster(cluster_dir)['brokers'])} or another --data-dir"
        )
    first = free_port_run(host, brokers + 1) if port == 0 else port
    ports = list(range(first, first + brokers + 1))
    return {
        "version": 1,
        "cluster_id": _cluster_id(),
        "host": host,
        "settings": settings,
        "controller": {
            "id": CONTROLLER_ID,
            "host": host,
            "port": ports[brokers],
            "pid": None,
            "rack": None,
            "state": "stopped",
        },
        "brokers": [
            {
                "id": FIRST_BROKER_ID + i,
                "host": host,
                "port": ports[i],
                "pid": None,
                "rack": racks[i % len(racks)] if racks else None,
                "state": "stopped",
            }
            for i in range(brokers)
        ],
    }


class ClusterLauncher:
    """The --brokers process: owns the node processes."""

    def __init__(
        self,
        cluster_dir: Path,
        plan: dict[str, Any],
        log_level: str,
        controller_env: dict[str, str] | None = None,
    ) -> None:
        self.cluster_dir = cluster_dir
        self.plan = plan
        self.log_level = log_level
        # only the controller's process gets these (the SCRAM users of --add-scram)
        self.controller_env = controller_env or {}
        self.children: dict[int, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        write_cluster(self.cluster_dir, self.plan)
        ids = [CONTROLLER_ID, *(b["id"] for b in self.plan["brokers"])]
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        for node_id in ids:
            self.children[node_id] = subprocess.Popen(
                node_command(self.cluster_dir, node_id, self.log_level),
                env={**env, **self.controller_env} if node_id == CONTROLLER_ID else env,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )

    def poll(self) -> None:
        """Mark nodes whose process ended as stopped in cluster.json."""
        for node_id, child in list(self.children.items()):
            if child.poll() is not None:
                log.warning("Node %d exited with status %s", node_id, child.returncode)
                del self.children[node_id]
                with contextlib.suppress(OSError, ClusterFileError):
                    update_cluster(
                        self.cluster_dir, partial(_mark_stopped, node_id=node_id, pid=child.pid)
                    )

    def stop(self) -> None:
        """Brokers first (each tells the controller it is leaving), then the controller."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        brokers = [c for n, c in self.children.items() if n != CONTROLLER_ID]
        controller = [c for n, c in self.children.items() if n == CONTROLLER_ID]
        for group in (brokers, controller):
            for child in group:
                with contextlib.suppress(OSError):
                    child.send_signal(signal.SIGTERM)
            for child in group:
                try:
                    child.wait(max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        self.children.clear()
        with contextlib.suppress(OSError, ClusterFileError):
            update_cluster(self.cluster_dir, _mark_all_stopped)


def _mark_stopped(data: dict[str, Any], node_id: int, pid: int) -> None:
    for node in [data["controller"], *data["brokers"]]:
        # unless the node was started again meanwhile (--node): that one is running
        if node["id"] == node_id and node["pid"] == pid:
            node["state"] = "stopped"
            node["pid"] = None


def _mark_all_stopped(data: dict[str, Any]) -> None:
    for node in [data["controller"], *data["brokers"]]:
        node["state"] = "stopped"
        node["pid"] = None


def run_cluster(
    cluster_dir: Path,
    brokers: int,
    *,
    host: str,
    port: int,
    racks: list[str],
    settings: dict[str, str],
    log_level: str,
    controller_env: dict[str, str] | None = None,
) -> int:
    plan = plan_cluster(cluster_dir, brokers, host=host, port=port, racks=racks, settings=settings)
    launcher = ClusterLauncher(cluster_dir, plan, log_level, controller_env)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    watch_parent(stop)  # started by the app: stop the cluster when the app is gone
    launcher.start()
    log.info(
        "Cluster of %d broker(s) starting in %s (controller on port %d)",
        brokers,
        cluster_dir,
        plan["controller"]["port"],
    )
    while not stop.wait(0.5):
        launcher.poll()
    log.info("Stopping the cluster")
    launcher.stop()
    return 0
