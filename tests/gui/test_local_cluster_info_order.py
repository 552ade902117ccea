"""The local cluster's node states arrive from two threads: a node job's result (read when the
job ends) and the cluster.json watch (which reports only changes). An earlier reading that
arrives later must not replace a later one, or a broker that became active stays "fenced" on
screen for good (CI saw exactly that after Start on a restarted broker)."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.qtbot import QtBot

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


def test_a_node_jobs_older_reading_does_not_replace_the_watchs_newer(
    qtbot: QtBot, tmp_path: Path
) -> None:
    _cluster_file(tmp_path, "fenced")
    cluster = LocalCluster(data_dir=tmp_path, port=0)
    # what a Start job on node 103 returns: the file as it was when the broker first answered
    stale = cluster._nodes_now()
    assert stale.node(103).state == "fenced"  # type: ignore[union-attr]
    cluster.info = stale
    cluster._start_watch()
    try:
        set_node(tmp_path, 103, state="active")  # the controller unfenced it
        qtbot.waitUntil(lambda: cluster.info.node(103).state == "active", timeout=WAIT_MS)  # type: ignore[union-attr]
        shown: list[str] = []
        cluster.nodes_changed.connect(lambda info: shown.append(info.node(103).state))

        cluster._on_nodes(stale)  # the job's finished signal, delivered after the watch's report

        assert cluster.info.node(103).state == "active"  # type: ignore[union-attr]
        qtbot.wait(1500)  # three watch rounds: nothing changed in the file, nothing re-reported
        assert cluster.info.node(103).state == "active"  # type: ignore[union-attr]
        assert "fenced" not in shown

        set_node(tmp_path, 103, state="fenced")  # a newer reading still wins
        qtbot.waitUntil(lambda: cluster.info.node(103).state == "fenced", timeout=WAIT_MS)  # type: ignore[union-attr]
    finally:
        assert cluster.stop_at_exit() is None
