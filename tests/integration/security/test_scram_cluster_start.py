"""--add-scram (and TOPICSCOPE_ADD_SCRAM) at --brokers N start: a secured cluster with its users
in one command; only the controller's process is handed the passwords."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cluster.local_cluster import LocalCluster, start_timeout_s, wait_for

from .test_scram_cluster import _sasl, _signs_in

ALICE = ("alice", "alice-secret")
BOB = ("bob", "bob-from-env")


@pytest.fixture
def users_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCluster]:
    # the launcher inherits the environment of the test: bob comes that way, alice by argument
    monkeypatch.setenv("TOPICSCOPE_ADD_SCRAM", f"SCRAM-SHA-512=[name={BOB[0]},password={BOB[1]}]")
    extra = [
        "--config",
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "--config",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "--add-scram",
        f"SCRAM-SHA-512=[name={ALICE[0]},password={ALICE[1]},iterations=8192]",
    ]
    cluster = LocalCluster(tmp_path / "cluster", 2, extra)
    try:
        cluster.wait_all_active()
        yield cluster
    finally:
        cluster.discard()


def _environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def test_users_given_at_start_sign_in_on_every_broker(users_cluster: LocalCluster) -> None:
    for broker in users_cluster.broker_ids:
        bootstrap = _sasl(users_cluster, broker)
        for user, password in (ALICE, BOB):
            # a broker learns the users from the controller's log: wait for it to catch up
            wait_for(
                lambda b=bootstrap, u=user, p=password: _signs_in(b, u, p),  # type: ignore[misc]
                start_timeout_s(),
                f"{user} to sign in on broker {broker}",
            )
        assert not _signs_in(bootstrap, ALICE[0], "wrong-password")
    if sys.platform == "linux":
        for broker in users_cluster.broker_ids:
            environ = _environ(int(users_cluster.node(broker)["pid"]))
            assert BOB[1].encode() not in environ and ALICE[1].encode() not in environ
    # the passwords never reach the cluster's files: only salts and keys do
    for path in users_cluster.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert ALICE[1].encode() not in data and BOB[1].encode() not in data, path


def test_add_scram_is_refused_on_a_broker_node(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "embedded_broker",
            "--data-dir",
            str(tmp_path),
            "--node",
            "101",
            "--add-scram",
            "SCRAM-SHA-512=[name=a,password=b]",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "SCRAM users of a cluster live on its controller" in done.stderr
