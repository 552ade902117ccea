"""One node of a local cluster (``topicscope-broker --data-dir DIR --node ID``): the controller
(node 100) or a broker, with its settings taken from DIR/cluster.json."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cluster_file import (
    CONTROLLER_ID,
    ClusterFileError,
    find_node,
    node_dir,
    read_cluster,
    set_node,
)
from .runner import BrokerRunner, BrokerStartError

log = logging.getLogger("embedded_broker")

# set by the launcher in its children: they stop when that process is gone
PARENT_ENV = "TOPICSCOPE_CLUSTER_PARENT"
# loading its logs and recovering them after a kill -9 can take a node restarted on a busy
# laptop well past the runner's default 10 s; whoever started it (the app, the launcher, a
# user) keeps its own deadline and can stop it, so it never gives up sooner than they would
NODE_START_TIMEOUT_S = 60.0


def watch_parent(stop: threading.Event) -> None:
    """Stop this node when the launcher (or app) that started it dies (also where PDEATHSIG is
    missing): the process whose pid is in TOPICSCOPE_CLUSTER_PARENT, if set."""
    raw = os.environ.get(PARENT_ENV)
    if not raw:
        return
    parent = int(raw)

    def watch() -> None:
        while not stop.wait(0.5):
            if os.getppid() != parent:
                log.warning("The cluster launcher (pid %d) is gone; stopping", parent)
                stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _broker_settings(data: dict[str, Any], node: dict[str, Any]) -> dict[str, str]:
    settings = {str(k): str(v) for k, v in data.get("settings", {}).items()}
    settings["node.id"] = str(node["id"])
    # Kafka's default of 3, but never more replicas than the cluster has brokers
    settings.setdefault("offsets.topic.replication.factor", str(min(3, len(data["brokers"]))))
    settings.setdefault(
        "transaction.state.log.replication.factor", str(min(3, len(data["brokers"])))
    )
    settings.setdefault(
        "share.coordinator.state.topic.replication.factor", str(min(3, len(data["brokers"])))
    )
    if node.get("rack"):
        settings["broker.rack"] = str(node["rack"])
    if "listeners" in settings:
        settings["listeners"] = _node_listeners(settings, node)
    return settings


def _node_listeners(settings: dict[str, str], node: dict[str, Any]) -> str:
    """The cluster's `listeners` for one broker: the inter-broker listener on the node's own
    address (where the controller and the other brokers reach it), the others as given (port 0:
    a free one, written to cluster.json once the broker listens)."""
    from .config import BrokerConfig
    from .security.listeners import parse_listeners

    parsed = parse_listeners(BrokerConfig(settings), str(node["host"]), int(node["port"]))
    out = []
    for lst in parsed.listeners:
        host, port = lst.host, lst.port
        if lst.name == parsed.inter_broker:
            host, port = str(node["host"]), int(node["port"])
        shown = f"[{host}]" if ":" in host else host
        out.append(f"{lst.name}://{shown}:{port}")
    return ",".join(out)


def run_node(
    cluster_dir: Path, node_id: int, scram_users: Sequence[tuple[str, str, str, int]] = ()
) -> int:
    """Run one node until SIGINT/SIGTERM (or its launcher's death); the exit status.
    ``scram_users`` (--add-scram) go to the controller's metadata log."""
    try:
        data = read_cluster(cluster_dir)
        node = find_node(data, node_id)
    except ClusterFileError as exc:
        print(f"topicscope-broker: {exc}")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    watch_parent(stop)
    set_node(cluster_dir, node_id, pid=os.getpid(), state="starting")
    if node_id == CONTROLLER_ID:
        return _run_controller(cluster_dir, stop, scram_users)
    return _run_broker(cluster_dir, data, node, stop)


def _run_controller(
    cluster_dir: Path, stop: threading.Event, scram_users: Sequence[tuple[str, str, str, int]]
) -> int:
    from .controller.server import run_controller

    async def main() -> None:
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=lambda: (stop.wait(), loop.call_soon_threadsafe(done.set)), daemon=True
        ).start()
        await run_controller(cluster_dir, done, scram_users)

    try:
        asyncio.run(main())
    except OSError as exc:
        log.error("The controller could not start: %s", exc)
        return 1
    return 0


def _run_broker(
    cluster_dir: Path, data: dict[str, Any], node: dict[str, Any], stop: threading.Event
) -> int:
    from .cluster_link.link import BrokerLink
    from .config import BrokerConfig
    from .group_runtime.topic import create_at_start
    from .handlers.groups import coordinator
    from .state import BrokerState
    from .txn.runtime import coordinator as txn_coordinator

    node_id = int(node["id"])
    settings = _broker_settings(data, node)
    controller = data["controller"]
    directory = node_dir(cluster_dir, node_id)

    def attach(state: BrokerState) -> None:
        if state.registry.cluster_id != data["cluster_id"]:
            state.registry.cluster_id = data["cluster_id"]
            state.registry.save()
        link = BrokerLink(
            state,
            host=node["host"],
            port=int(node["port"]),
            rack=node.get("rack"),
            cluster_id=data["cluster_id"],
            controller=(controller["host"], int(controller["port"])),
            heartbeat_ms=BrokerConfig(settings).get_int("broker.heartbeat.interval.ms"),
            metadata_dir=directory / "metadata",
        )
        link.start()
        # the coordinator follows leadership of __consumer_offsets from the start, so a broker
        # that takes over a partition loads its groups before their members come asking
        state.spawn(coordinator(state), name="group-coordinator")
        state.spawn(create_at_start(state, link), name="offsets-topic")
        # the same for transactional ids; __transaction_state itself is created on the first
        # transactional FindCoordinator, as Kafka does: its 50 partitions of RF 3 would
        # otherwise cost every cluster replication work whether it uses transactions or not
        state.spawn(txn_coordinator(state), name="transaction-coordinator")

    runner = BrokerRunner(
        host=node["host"],
        port=int(node["port"]),
        data_dir=directory,
        config=settings,
        on_started=attach,
    )
    try:
        runner.start(timeout=NODE_START_TIMEOUT_S)
    except BrokerStartError as exc:
        log.error("Broker %d could not start: %s", node_id, exc)
        with contextlib.suppress(OSError, ClusterFileError):
            set_node(cluster_dir, node_id, state="stopped")
        return 1
    log.info("Broker %d ready on %s:%d", node_id, node["host"], node["port"])
    if "listeners" in settings:
        addresses = {name: a.bootstrap for name, a in runner.listeners.items()}
        with contextlib.suppress(OSError, ClusterFileError):
            set_node(cluster_dir, node_id, listeners=addresses)
    while not stop.wait(0.5):
        if not runner.running:
            log.error("Broker %d stopped unexpectedly", node_id)
            return 1
    runner.stop()
    with contextlib.suppress(OSError, ClusterFileError):
        set_node(cluster_dir, node_id, state="stopped", pid=None)
    return 0
