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
from typing import Any, TypeVar

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

SESSION_TIMEOUT_MS = 2000
HEARTBEAT_MS = 300
# what start-up or a restart may take on an idle machine; stretched on a loaded one
START_TIMEOUT_S = 20.0
MAX_START_TIMEOUT_S = 120.0
# small timeouts so a killed broker is fenced within seconds
CLUSTER_SETTINGS = {
    "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
    "broker.heartbeat.interval.ms": str(HEARTBEAT_MS),
}


def load_factor() -> float:
    """How many runnable tasks share each core beyond one (the 1-minute load average per core),
    at least 1: at a load of 25 on 2 cores, Python nodes run several times slower than on an
    idle machine, and so does every wait on them."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available here
        load = 0.0
    return max(1.0, load / (os.cpu_count() or 1))


def start_timeout_s(base_s: float = START_TIMEOUT_S) -> float:
    """``base_s`` (what it takes on an idle machine) stretched by the load, at most
    MAX_START_TIMEOUT_S (or ``base_s`` itself when that is longer)."""
    return min(base_s * load_factor(), max(base_s, MAX_START_TIMEOUT_S))


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str | Callable[[], str]) -> Any:
    """Poll ``condition`` until it returns something true; fail naming ``what`` (a callable
    is asked at the deadline, to say what is still missing). ``timeout_s`` is the deadline on
    an idle machine: it stretches with the load (start_timeout_s), since everything waited for
    here (a node starting, metadata reaching a broker, a group rebalancing) slows with it."""
    timeout_s = start_timeout_s(timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {described}")
        time.sleep(0.05)


# answers that mean "ask again": a broker that has not yet replayed the change, a leader or
# coordinator moving or loading, a new leader whose high watermark has not yet caught up with
# its followers (KIP-207's OFFSET_NOT_AVAILABLE, right after an election), a node still
# starting (nothing listening yet, or too slow to answer within the client's own timeout on
# a loaded machine)
NOT_YET = frozenset(
    {
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.OFFSET_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
    }
)

T = TypeVar("T")


def unless_not_yet(call: Callable[[], T]) -> T | None:
    """``call()``, or None when it fails with a "not yet" answer (NOT_YET) — for a condition
    of wait_for; any other error still fails the test."""
    try:
        return call()
    except KafkaException as exc:
        if exc.args[0].code() in NOT_YET:
            return None
        raise


def _alive(pid: Any) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def metadata_brokers(address: str) -> set[int]:
    """The broker ids one broker's own Metadata answer lists (none while it does not answer)."""
    try:
        client = AdminClient({"bootstrap.servers": address, "log_level": 0})
        return set(client.list_topics(timeout=2).brokers)
    except Exception:  # not answering yet
        return set()


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
        self.log_path = log_path
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

    @property
    def broker_ids(self) -> list[int]:
        return list(range(101, 101 + self.brokers))

    def epochs(self) -> dict[int, int]:
        """Each broker's broker epoch in the controller's image (a new one on every
        registration), as the controller publishes it in cluster.json."""
        return {b["id"]: b["epoch"] for b in self.info().get("brokers", []) if "epoch" in b}

    def _registered(self, brokers: list[int], stale: dict[int, int]) -> bool:
        """Each of ``brokers`` registered (with an epoch other than its ``stale`` one) and
        unfenced in the controller's image, in a live process, and every broker's own
        Metadata lists all of them (its image has caught up)."""
        states, epochs = self.states(), self.epochs()
        if states.get(100) != "active" or not _alive(self.info()["controller"].get("pid")):
            return False
        for b in brokers:
            if states.get(b) != "active" or b not in epochs or epochs[b] == stale.get(b):
                return False
            if not _alive(self.node(b).get("pid")):
                return False
        listed = set(self.broker_ids)
        return all(
            listed <= metadata_brokers(f"{n['host']}:{n['port']}") for n in self.info()["brokers"]
        )

    def missing(self, brokers: list[int], stale: dict[int, int] | None = None) -> str:
        """What start-up still lacks, node by node, for a failure message."""
        info = self.info()
        if not info:
            return "cluster.json (the launcher has not written it)"
        lines = []
        stale = stale or {}
        for node in [info["controller"], *info["brokers"]]:
            node_id, pid = node["id"], node.get("pid")
            problems = []
            if not _alive(pid):
                problems.append(f"no live process (pid {pid})")
            if node.get("state") != "active":
                problems.append(f"state {node.get('state')!r}")
            if node_id in brokers:
                if "epoch" not in node:
                    problems.append("not registered with the controller")
                elif node["epoch"] == stale.get(node_id):
                    problems.append(f"still the old registration (epoch {node['epoch']})")
                else:
                    seen = metadata_brokers(f"{node['host']}:{node['port']}")
                    if set(self.broker_ids) - seen:
                        problems.append(f"its Metadata lists only {sorted(seen)}")
            lines.append(f"node {node_id}: " + ("ready" if not problems else "; ".join(problems)))
        return "every node to be ready:\n  " + "\n  ".join(lines)

    def wait_all_active(self) -> None:
        """Until every broker is registered and unfenced in the controller's image and every
        broker's Metadata lists all of them."""
        self.wait_registered(self.broker_ids)

    def wait_registered(self, brokers: list[int], stale: dict[int, int] | None = None) -> None:
        """Until ``brokers`` are registered anew (an epoch other than in ``stale``) and
        unfenced, and every broker lists them; fails saying what is missing."""
        old = stale or {}
        wait_for(
            lambda: self._registered(brokers, old),
            START_TIMEOUT_S,
            lambda: self.missing(brokers, old),
        )

    def kill(self, node_id: int) -> None:
        os.kill(int(self.node(node_id)["pid"]), signal.SIGKILL)

    def restart_node(self, node_id: int, *, wait: bool = True) -> None:
        """Start one node again with --node and (``wait``) until it is active in its new
        process (a broker: registered anew and listed by every broker)."""
        stale = {b: e for b, e in self.epochs().items() if b == node_id}
        # a node started again logs to the same file as the launcher's nodes, when one is kept
        log_file = self.log_path.open("ab") if self.log_path is not None else None
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
            stderr=log_file if log_file is not None else subprocess.DEVNULL,
        )
        if log_file is not None:
            log_file.close()  # the node holds its own copy
        self.restarted.append(proc)
        if not wait:
            return
        wait_for(
            lambda: self.node(node_id)["pid"] == proc.pid and self.states()[node_id] == "active",
            START_TIMEOUT_S,
            lambda: f"node {node_id} to be active again; " + self.missing([node_id], stale),
        )
        if node_id != 100:
            self.wait_registered([node_id], stale)

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

    def discard(self) -> None:
        """Kill -9 every process of the cluster at a test's end. Its data is thrown away, so the
        graceful stop (the launcher's 0.5 s poll, then each node's shutdown: seconds per
        cluster, dozens of clusters in the suite) buys nothing; tests that stop a cluster to
        start it again still call stop()."""
        data = self.info()
        nodes = [
            int(node["pid"])
            for node in [data.get("controller", {}), *data.get("brokers", [])]
            if node.get("pid") and _runs_in(int(node["pid"]), self.data_dir)
        ]
        for pid in nodes:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for proc in [*self.restarted, self.launcher]:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        # the launcher's nodes are not our children: wait (bounded) until the kernel has taken
        # them down, so the next test does not share the CPU with them
        deadline = time.monotonic() + 10
        while not all(_gone_or_zombie(pid) for pid in nodes) and time.monotonic() < deadline:
            time.sleep(0.02)


def _runs_in(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a live node of the cluster in ``data_dir`` (its command line names
    the directory): a pid from cluster.json may be an old one the kernel gave to another
    process since."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    args = cmdline.split(b"\0")
    return any(str(d).encode() in args for d in (data_dir, data_dir.resolve()))


def _gone_or_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def admin(bootstrap: str) -> AdminClient:
    # a request a broker is slow to answer (CreateTopics waits on the controller) fails after
    # this: 5 s was too short on a loaded machine; a killed broker's requests fail at once anyway
    # (its sockets close), so the limit only guards against a hung one
    timeout_ms = int(start_timeout_s(15) * 1000)
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": timeout_ms})
