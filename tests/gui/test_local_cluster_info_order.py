"""The local cluster's node states reach the screen from the cluster.json watch alone. A node
job (Start, Stop, Kill) ends on its own thread; had its own reading of the file been shown, it
could land after a newer one the watch had already reported, and stay there, since the watch
reports changes only. CI saw exactly that: a restarted broker read "fenced" when it first
answered, became active a moment later, and the Brokers screen said "fenced" for good."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop.domain.local import LocalClusterInfo
from desktop.services.local_process import nodes_of, read_cluster_file
from desktop.workers.jobs import JobContext
from desktop.workers.local_cluster import LocalCluster
from embedded_broker.cluster_file import set_node, write_cluster
from tests.gui.conftest import WAIT_MS


def _cluster_file(directory: Path, state: str) -> None:
    me = os.getpid()  # a live pid, so each node reads as running
    write_cluster(
        directory,
        {
            "controller": {"id": 100, "host": "127.0.0.1", "port": 1, "pid": me, "state": "active"},
            "brokers": [{"id": 103, "host": "127.0.0.1", "port": 2, "pid": me, "state": state}],
        },
    )


def _read(directory: Path) -> LocalClusterInfo:
    """What a job would get reading cluster.json itself."""
    return LocalCluster._info(directory, nodes_of(read_cluster_file(directory) or {}))


def _state(cluster: LocalCluster) -> str:
    info = cluster.info
    node = info.node(103) if info is not None else None
    return node.state if node is not None else ""


def test_a_node_jobs_own_reading_never_replaces_what_the_watch_shows(
    qtbot: QtBot, tmp_path: Path
) -> None:
    _cluster_file(tmp_path, "fenced")
    cluster = LocalCluster(data_dir=tmp_path, port=0)
    cluster.info = _read(tmp_path)  # as the cluster's start job leaves it
    cluster._start_watch()
    shown: list[str] = []
    active_shown = threading.Event()

    def on_nodes(info: LocalClusterInfo) -> None:
        shown.append(_state(cluster))
        if _state(cluster) == "active":
            active_shown.set()

    cluster.nodes_changed.connect(on_nodes)

    def start_103(_ctx: JobContext) -> LocalClusterInfo:
        # the file as a Start job reads it when the restarted broker first answers ...
        first = _read(tmp_path)
        assert first.node(103).state == "fenced"  # type: ignore[union-attr]
        set_node(tmp_path, 103, state="active")  # ... then the controller unfences it
        assert active_shown.wait(WAIT_MS / 1000)  # and the watch shows that first
        return first

    try:
        job = cluster._node_job(103, "start", start_103)
        assert job is not None
        qtbot.waitUntil(lambda: job.ended, timeout=WAIT_MS)
        assert job.failure is None, job.failure
        assert _state(cluster) == "active"
        qtbot.wait(1500)  # three watch rounds: the file is unchanged, so nothing is re-reported
        assert _state(cluster) == "active"
        assert shown[-1] == "active"

        set_node(tmp_path, 103, state="fenced")  # a later change still shows
        qtbot.waitUntil(lambda: _state(cluster) == "fenced", timeout=WAIT_MS)
    finally:
        assert cluster.stop_at_exit() is None
