"""Transactions through failures: a producer process killed -9 mid-transaction, and the broker
stopped (cleanly or by kill -9) mid-transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.broker_fixtures import BrokerFactory
from tests.integration.broker.broker_process import free_port
from tests.integration.broker.clients import create_topic

from .txn_clients import (
    TIMEOUT_S,
    end_offsets,
    put_sentinels,
    read_to_sentinels,
    start_broker,
    txn_producer,
    wait_for,
)

# the timed-out transaction sweep runs often, so a 2 s transaction timeout is acted on at once
FAST_SWEEP = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"}


def _start_zombie(bootstrap: str, topic: str, tid: str, timeout_ms: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.transactions.zombie_producer",
            bootstrap,
            topic,
            tid,
            str(timeout_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "open", f"zombie producer failed: {line!r} {proc.poll()}"
    return proc


@pytest.mark.parametrize("ending", ["timeout", "new instance"])
def test_killed_producer_is_aborted_and_fenced(
    builtin_broker_factory: BrokerFactory, ending: str
) -> None:
    broker = builtin_broker_factory(config=FAST_SWEEP)
    bootstrap = broker.bootstrap
    topic = f"killed-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 1)
    tid = f"killed-{topic}"
    # "timeout": 2 s, so the broker aborts it; "new instance": 10 min, so only fencing can
    timeout_ms = 2000 if ending == "timeout" else 600_000
    zombie = _start_zombie(bootstrap, topic, tid, timeout_ms)
    os.kill(zombie.pid, signal.SIGKILL)
    zombie.wait(TIMEOUT_S)
    if ending == "new instance":
        assert end_offsets(bootstrap, topic, 1, committed=True) == [0]  # held by the open txn
    else:
        # (the open state is not checked here: with a 2 s timeout it may already be over)
        wait_for(
            lambda: end_offsets(bootstrap, topic, 1, committed=True) == [4],
            TIMEOUT_S,
            "the timed-out transaction to be aborted",
        )
    fresh = txn_producer(bootstrap, tid)  # fences the zombie (aborting it if still open)
    fresh.begin_transaction()
    fresh.produce(topic, value=b"fresh")
    fresh.commit_transaction(TIMEOUT_S)
    put_sentinels(bootstrap, topic, 1)
    assert read_to_sentinels(bootstrap, topic, 1, "read_committed") == [b"fresh"]
    uncommitted = read_to_sentinels(bootstrap, topic, 1, "read_uncommitted")
    assert uncommitted == [b"zombie-0", b"zombie-1", b"zombie-2", b"fresh"]


@pytest.mark.parametrize("stop", ["clean", "kill -9"])
@pytest.mark.parametrize("outcome", ["commit", "abort"])
def test_broker_restart_mid_transaction(tmp_path: Path, stop: str, outcome: str) -> None:
    port = free_port()
    data_dir = tmp_path / "broker"
    proc = start_broker(data_dir, port, FAST_SWEEP)
    bootstrap = f"127.0.0.1:{port}"
    topic = "restart-txn"
    try:
        create_topic(bootstrap, topic, 2)
        prod = txn_producer(bootstrap, "restart", **{"transaction.timeout.ms": 60_000})
        prod.begin_transaction()
        prod.produce(topic, value=b"before", partition=0)
        prod.commit_transaction(TIMEOUT_S)
        prod.begin_transaction()
        for p in range(2):
            prod.produce(topic, value=b"open-%d" % p, partition=p)
        assert prod.flush(TIMEOUT_S) == 0
        if stop == "clean":
            proc.send_signal(signal.SIGTERM)
        else:
            proc.kill()
        proc.wait(TIMEOUT_S)
        proc = start_broker(data_dir, port, FAST_SWEEP)
        # the open transaction still holds back read_committed readers after the restart
        assert end_offsets(bootstrap, topic, 2, committed=True) == [2, 0]
        if outcome == "commit":
            prod.commit_transaction(TIMEOUT_S)
        else:
            prod.abort_transaction(TIMEOUT_S)
        put_sentinels(bootstrap, topic, 2)
        seen = sorted(read_to_sentinels(bootstrap, topic, 2, "read_committed"))
        if outcome == "commit":
            assert seen == [b"before", b"open-0", b"open-1"]
        else:
            assert seen == [b"before"]
    finally:
        proc.kill()
        proc.wait(TIMEOUT_S)
