"""The CLI helper runs the other Kafka tools by name, and harness JVMs never outlive Python."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.kafka.cli import KafkaCli
from tests.kafka.fixtures import KafkaSingle

pytestmark = pytest.mark.realkafka

REPO = Path(__file__).resolve().parents[3]


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args[-6:]} exited {proc.returncode}:\n{proc.stderr}"
    return proc.stdout


def test_admin_and_perf_tools_run_by_their_usual_names(
    kafka_single: KafkaSingle, kafka_cli: KafkaCli
) -> None:
    bs = ["--bootstrap-server", kafka_single.bootstrap]
    topic = f"tools-{uuid.uuid4().hex[:8]}"
    _ok(kafka_cli.run("kafka-topics", [*bs, "--create", "--topic", topic, "--partitions", "2"]))

    entity = ["--entity-type", "topics", "--entity-name", topic]
    out = _ok(
        kafka_cli.run(
            "kafka-configs", [*bs, "--alter", *entity, "--add-config", "retention.ms=3600000"]
        )
    )
    assert f"Completed updating config for topic {topic}." in out
    out = _ok(kafka_cli.run("kafka-configs", [*bs, "--describe", *entity]))
    assert "retention.ms=3600000" in out

    out = _ok(
        kafka_cli.run(
            "kafka-producer-perf-test",
            [
                *("--topic", topic, "--num-records", "500", "--record-size", "100"),
                *("--throughput", "-1"),
                *("--producer-props", f"bootstrap.servers={kafka_single.bootstrap}"),
            ],
        )
    )
    assert "500 records sent" in out

    group = f"perf-{topic}"
    out = _ok(
        kafka_cli.run(
            "kafka-consumer-perf-test",
            [*bs, "--topic", topic, "--messages", "500", "--group", group, "--timeout", "60000"],
            timeout=120,
        )
    )
    data = [line for line in out.splitlines() if line[:4].isdigit()]
    assert data, out
    assert data[-1].split(", ")[4] == "500"  # data.consumed.in.nMsg

    assert group in _ok(kafka_cli.run("kafka-consumer-groups", [*bs, "--list"])).split()
    _ok(kafka_cli.run("kafka-topics", [*bs, "--delete", "--topic", topic]))


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, just not reaped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_broker_jvm_dies_when_the_python_process_is_killed(kafka_cli: KafkaCli) -> None:
    script = textwrap.dedent(
        """
        import os, signal
        from tests.kafka.cluster import start_single
        cluster = start_single()
        print(cluster.nodes[0].proc.pid, cluster.workdir, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no finalizers
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr
    pid, workdir = proc.stdout.split()
    jvm = int(pid)
    deadline = time.monotonic() + 60
    try:
        while _pid_alive(jvm):
            assert time.monotonic() < deadline, f"broker JVM {jvm} outlived its Python parent"
            time.sleep(0.2)
    finally:
        if _pid_alive(jvm):
            os.killpg(jvm, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)
