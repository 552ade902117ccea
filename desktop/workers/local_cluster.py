"""The local cluster (`topicscope-broker --brokers 3`) as child processes: start and stop it,
and stop, kill -9 or start any one node, each as a job; a stream job watches cluster.json."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal

from desktop.domain.cluster import BrokerInfo
from desktop.domain.local import CONTROLLER_ID, LocalClusterInfo, LocalNode
from desktop.services.local_process import (
    ChildProcess,
    LocalProcessError,
    choose_port,
    cluster_size,
    nodes_of,
    read_cluster_file,
    send_signal,
    wait_answering,
    wait_gone,
)
from desktop.workers.jobs import Job, JobContext, Lane, UserError
from desktop.workers.local_broker import PREFERRED_PORT, default_local_data_dir
from desktop.workers.local_handle import LocalHandle, undone_on_failure

BROKERS = 3
HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0  # five interpreters (launcher, controller, 3 brokers) on a busy laptop
STOP_TIMEOUT_S = 15.0  # the launcher's own limit, then everything left is killed
NODE_TIMEOUT_S = 30.0
WATCH_INTERVAL_S = 0.5


def default_cluster_dir(broker_data_dir: Path | None) -> Path | None:
    """Next to the single broker's data: DIR-cluster for --data-dir DIR, else <data>/cluster."""
    if broker_data_dir is not None:
        return broker_data_dir.with_name(broker_data_dir.name + "-cluster")
    default = default_local_data_dir()
    return default.parent / "cluster" if default is not None else None


class LocalCluster(LocalHandle):
    """The app's handle on its local cluster. Cluster start/stop run in order in one lane; node
    actions run at once, each on its own thread, so Kill never waits behind a Start."""

    subject = "The local cluster"
    nodes_changed = Signal(object)  # LocalClusterInfo: a node's pid or state changed
    node_failed = Signal(str)

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int | None = None,
        brokers: int = BROKERS,
        config: dict[str, str] | None = None,
    ) -> None:
        super().__init__("local-cluster")
        self.data_dir = data_dir  # None: default_cluster_dir(None), resolved in the start job
        self.port = port  # None: 9092 when free, else (and for 0) any free run of ports
        self.brokers = brokers
        self.config = {"group.initial.rebalance.delay.ms": "0", **(config or {})}
        self.info: LocalClusterInfo | None = None
        self.node_busy: set[int] = set()  # nodes with an action under way (GUI thread)
        self._launcher: ChildProcess | None = None  # touched only by jobs
        self._own: dict[int, ChildProcess] = {}  # nodes the app restarted itself (--node)
        self._lock = threading.Lock()
        self._watch: Job | None = None
        self._wake = threading.Event()  # the watch reads cluster.json now (a node job ended)
        self._starting: Job | None = None

    def child_pids(self) -> list[int]:
        """Every process the app started for this cluster that is still its child."""
        with self._lock:
            kids = [self._launcher, *self._own.values()]
        return [k.pid for k in kids if k is not None and k.alive]

    # ---- the whole cluster ---------------------------------------------------------------

    def start(self) -> None:
        if self._busy or self.running:
            return
        self._starting = self._submit(
            "start the local cluster", self._do_start, START_TIMEOUT_S + 5, "start"
        )

    def stop(self) -> Job | None:
        if self._busy or not self.running:
            return None
        self._end_watch()
        self.info = None
        return self._submit(
            "stop the local cluster", lambda _c: self._do_stop(), STOP_TIMEOUT_S * 2 + 5, "stop"
        )

    def stop_at_exit(self) -> Job | None:
        """Stop for the app's exit (None when nothing runs); this handle's runner closes after."""
        self._end_watch()
        if self._starting is not None and not self._starting.ended:
            self._starting.cancel()  # its own clean-up stops what it started
        with self._lock:
            idle = self._launcher is None and not self._own
        if idle and not self._busy:
            self._jobs.close()
            return None
        return self._exit_job(
            "stop the local cluster", lambda _c: self._do_stop(), STOP_TIMEOUT_S * 2 + 5
        )

    def _after_start(self) -> None:
        self._start_watch()

    # ---- one node ------------------------------------------------------------------------

    def stop_node(self, node_id: int) -> Job | None:
        return self._node_job(node_id, "stop", lambda c: self._do_stop_node(node_id, c))

    def kill_node(self, node_id: int) -> Job | None:
        return self._node_job(node_id, "kill", lambda c: self._do_kill_node(node_id, c))

    def start_node(self, node_id: int) -> Job | None:
        return self._node_job(node_id, "start", lambda c: self._do_start_node(node_id, c))

    def _node_job(self, node_id: int, verb: str, work: Callable[[JobContext], Any]) -> Job | None:
        if self.info is None or node_id in self.node_busy:
            return None
        self.node_busy.add(node_id)
        job = Job(f"{verb} node {node_id}", work, lane=Lane.STREAM, deadline_s=NODE_TIMEOUT_S + 5)

        def ended(*_args: object) -> None:
            self.node_busy.discard(node_id)
            if self.info is not None:
                self.nodes_changed.emit(self.info)

        # what the node's process did shows through the watch alone: a job's own reading of
        # cluster.json, delivered from its thread, could land after a newer one the watch had
        # reported and then stay (the watch reports changes only), e.g. "fenced" for a broker
        # long active again. The watch reads at once instead of at its next tick.
        job.finished.connect(lambda _info: self._wake.set())
        job.finished.connect(ended)
        job.failed.connect(lambda _f: self._wake.set())
        job.failed.connect(
            lambda f: self.node_failed.emit(f"Could not {verb} node {node_id}: {f.message}")
        )
        job.failed.connect(ended)
        self._jobs.submit(job)
        if self.info is not None:
            self.nodes_changed.emit(self.info)  # its buttons show it is busy
        return job

    # ---- the cluster.json watch ----------------------------------------------------------

    def _start_watch(self) -> None:
        directory = self._dir()

        def work(ctx: JobContext) -> None:
            last: tuple[LocalNode, ...] | None = None
            while not ctx.token.cancelled:
                self._wake.clear()
                data = read_cluster_file(directory)
                if data is not None:
                    nodes = nodes_of(data)
                    if nodes != last:
                        last = nodes
                        ctx.report(self._info(directory, nodes))
                self._wake.wait(WATCH_INTERVAL_S)

        job = Job("watch the local cluster", work, lane=Lane.STREAM, deadline_s=None)
        job.progress.connect(self._on_nodes)
        self._watch = job
        self._jobs.submit(job)

    def _end_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
            self._wake.set()  # it ends now, not at its next tick

    def _on_nodes(self, info: LocalClusterInfo | None) -> None:
        if info is None or self.info is None:
            return  # stopped meanwhile
        self.info = info
        self.nodes_changed.emit(info)

    # ---- job threads ---------------------------------------------------------------------

    def _dir(self) -> Path:
        directory = self.data_dir or default_cluster_dir(None)
        if directory is None:
            raise UserError("the built-in broker is not included in this build")
        return directory

    @staticmethod
    def _info(directory: Path, nodes: tuple[LocalNode, ...]) -> LocalClusterInfo:
        bootstrap = ",".join(n.address for n in nodes if not n.is_controller)
        return LocalClusterInfo(bootstrap=bootstrap, data_dir=str(directory), nodes=nodes)

    def _do_start(self, ctx: JobContext) -> LocalClusterInfo:
        directory = self._dir()
        size = cluster_size(directory)
        if size is not None and size != self.brokers:
            raise UserError(
                f"{directory} holds a cluster of {size} brokers; move it away to start "
                f"one of {self.brokers}"
            )
        # an earlier run's ports come from its cluster.json (0); else the controller and
        # brokers listen on a run of brokers + 1 ports from the course's localhost:9092 if free
        count = self.brokers + 1
        port = 0 if size is not None else choose_port(HOST, self.port, count, PREFERRED_PORT)
        args = ["--brokers", str(self.brokers), "--data-dir", str(directory)]
        args += ["--host", HOST, "--port", str(port), "--log-level", "WARNING"]
        for key, value in self.config.items():
            args += ["--config", f"{key}={value}"]
        launcher = ChildProcess(args)
        with self._lock:
            self._launcher = launcher
        with undone_on_failure(self._do_stop):
            nodes = self._wait_registered(directory, launcher, ctx)
            brokers = [BrokerInfo(n.id, n.host, n.port) for n in nodes if not n.is_controller]
            wait_answering(launcher, brokers, ctx.token, START_TIMEOUT_S)
        return self._info(directory, nodes)

    def _wait_registered(
        self, directory: Path, launcher: ChildProcess, ctx: JobContext
    ) -> tuple[LocalNode, ...]:
        """Until cluster.json shows every node running and every broker registered (active)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            ctx.token.check()
            if not launcher.alive:
                raise LocalProcessError(launcher.exit_reason())
            data = read_cluster_file(directory)
            nodes = nodes_of(data) if data is not None else ()
            if nodes and all(n.alive and n.state == "active" for n in nodes):
                return nodes
            if time.monotonic() > deadline:
                waiting = [f"{n.id} ({n.shown_state})" for n in nodes if n.state != "active"]
                raise LocalProcessError(
                    f"nodes {', '.join(waiting) or '?'} were not up within {START_TIMEOUT_S:g} s"
                )
            time.sleep(0.1)

    def _do_stop(self) -> None:
        """The app's own nodes (brokers, then a controller) and the launcher with its nodes."""
        with self._lock:
            launcher, self._launcher = self._launcher, None
            own, self._own = dict(self._own), {}
        for node_id, child in own.items():
            if node_id != CONTROLLER_ID:  # brokers leave while the controller still runs
                child.terminate(STOP_TIMEOUT_S)
        if launcher is not None:
            launcher.terminate(STOP_TIMEOUT_S * 1.5)
        for child in own.values():
            child.terminate(STOP_TIMEOUT_S)
        # anything cluster.json still names (a node whose launcher died): it must not outlive us
        data = read_cluster_file(self._dir()) if self.data_dir or launcher else None
        for node in nodes_of(data) if data is not None else ():
            if node.alive and node.pid is not None:
                send_signal(node.pid, signal.SIGTERM)
                if not wait_gone(node.pid, None, STOP_TIMEOUT_S):
                    send_signal(node.pid, signal.SIGKILL)

    def _node(self, node_id: int) -> LocalNode:
        data = read_cluster_file(self._dir())
        node = next((n for n in nodes_of(data or {}) if n.id == node_id), None)
        if node is None:
            raise UserError(f"cluster.json lists no node {node_id}")
        return node

    def _forget_own(self, node_id: int) -> ChildProcess | None:
        with self._lock:
            return self._own.pop(node_id, None)

    def _do_stop_node(self, node_id: int, ctx: JobContext) -> None:
        node = self._node(node_id)
        own = self._forget_own(node_id)
        if own is not None:
            own.terminate(NODE_TIMEOUT_S)
        elif node.alive:
            send_signal(node.pid, signal.SIGTERM)
            if not wait_gone(node.pid, ctx.token, NODE_TIMEOUT_S):
                send_signal(node.pid, signal.SIGKILL)

    def _do_kill_node(self, node_id: int, ctx: JobContext) -> None:
        node = self._node(node_id)
        own = self._forget_own(node_id)
        if own is not None:
            own.kill()
        elif node.alive:
            send_signal(node.pid, signal.SIGKILL)
            wait_gone(node.pid, ctx.token, 5.0)  # its launcher reaps it within half a second

    def _do_start_node(self, node_id: int, ctx: JobContext) -> None:
        node = self._node(node_id)
        if node.alive:
            raise UserError(f"node {node_id} is already running (pid {node.pid})")
        directory = self._dir()
        child = ChildProcess(
            ["--data-dir", str(directory), "--node", str(node_id), "--log-level", "WARNING"]
        )
        with self._lock:
            self._own[node_id] = child

        def undo() -> None:
            self._forget_own(node_id)
            child.terminate(2.0)

        with undone_on_failure(undo):
            target = BrokerInfo(node.id, node.host, node.port)
            wait_answering(child, [target], ctx.token, NODE_TIMEOUT_S, speak=not node.is_controller)
