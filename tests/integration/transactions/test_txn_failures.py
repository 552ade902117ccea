"""Transactions through failures: a producer process killed -9 mid-transaction, and the broker
stopped (cleanly or by kill -9) mid-transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from embedded_broker.coordinator.txn_log import encode_key, encode_value
from embedded_broker.coordinator.txn_state import TxnState
from embedded_broker.storage import Log, LogConfig
from embedded_broker.txn.coordinator import read_state_log
from embedded_broker.txn.log_batch import encode_record
from embedded_broker.txn.metadata import TRANSACTION_STATE_TOPIC, partition_for
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


@pytest.mark.parametrize("prepared", [TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT])
def test_prepared_transaction_is_completed_at_start(
    builtin_broker_factory: BrokerFactory, prepared: TxnState
) -> None:
    """A stop between the PrepareCommit/PrepareAbort record and the markers (the window of a
    kill -9 during EndTxn): the next start writes the markers, as Kafka's coordinator does
    when it loads a prepared transaction (not the periodic sweep, which would retry it too)."""
    broker = builtin_broker_factory(
        config={"transaction.abort.timed.out.transaction.cleanup.interval.ms": "600000"}
    )
    bootstrap = broker.bootstrap
    topic = "prepared"
    create_topic(bootstrap, topic, 1)
    prod = txn_producer(bootstrap, "prepared")
    prod.begin_transaction()
    prod.produce(topic, value=b"prepared")
    assert prod.flush(TIMEOUT_S) == 0
    broker.stop()
    assert broker.data_dir is not None
    # write the prepared state the EndTxn would have written before its markers
    index = partition_for("prepared", 50)
    log = Log(broker.data_dir / f"{TRANSACTION_STATE_TOPIC}-{index}", LogConfig())
    [*_, (_, value)] = read_state_log(log)
    assert value is not None and value.state is TxnState.ONGOING
    prepare = replace(value, state=prepared)
    log.append(encode_record(encode_key("prepared"), encode_value(prepare), 0), now_ms=0)
    log.close()
    broker.restart()
    wait_for(
        lambda: end_offsets(bootstrap, topic, 1, committed=True) == [2],
        TIMEOUT_S,
        "the prepared transaction's marker",
    )
    put_sentinels(bootstrap, topic, 1)
    seen = read_to_sentinels(bootstrap, topic, 1, "read_committed")
    assert seen == ([b"prepared"] if prepared is TxnState.PREPARE_COMMIT else [])
