"""`topicscope --self-test`: the single broker, then a 3-broker cluster with one broker killed
(-9), on the ports and in the directories given, leaving no broker process behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from desktop.services.local_process import free_port_run, pid_alive, read_cluster_file


def test_self_test_covers_a_three_broker_cluster_and_honours_port_and_data_dir(
    tmp_path: Path,
) -> None:
    port = free_port_run("127.0.0.1", 5)  # the broker on P, the cluster on P+1 … P+4
    data = tmp_path / "data"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    args = ["--self-test", "--local-port", str(port), "--data-dir", str(data)]
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "self-test passed" in out
    assert f"broker: 127.0.0.1:{port} (data in {data})" in out
    assert "read back: message matches" in out
    brokers = ",".join(f"127.0.0.1:{port + i}" for i in (1, 2, 3))
    assert f"cluster: brokers {brokers} (data in {tmp_path / 'data-cluster'})" in out, out
    assert "(replication factor 3, min.insync.replicas 2)" in out
    assert "produce acks=all: offset 0" in out
    assert "kill -9: broker 10" in out
    assert "produce acks=all with broker 10" in out and "dead: offset 1" in out
    assert "cluster read back: both messages match" in out
    cluster = read_cluster_file(tmp_path / "data-cluster")
    assert cluster is not None
    nodes = [cluster["controller"], *cluster["brokers"]]
    assert all(n["state"] == "stopped" for n in nodes), nodes
    # every pid the cluster ever had is gone (the file keeps the last one of a killed node)
    assert not [n["pid"] for n in nodes if n.get("pid") and pid_alive(n["pid"])]
