"""Transactions v2 across a coordinator killed -9: a transaction opened by Produce v12 alone
(no AddPartitionsToTxn) is still open after the restart and its EndTxn v5 commits it with the
epoch bump; after a second kill, the client's retry of that EndTxn (its answer lost) is known
for a retry from the replayed __transaction_state and answered the same, not fenced."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kio.schema.errors import ErrorCode

from tests.integration.broker.broker_process import free_port
from tests.integration.broker.clients import create_topic
from tests.integration.transactions.txn_clients import (
    TIMEOUT_S,
    put_sentinels,
    read_to_sentinels,
    start_broker,
)

from .raw_txn import coordinator_address, produce, transactional_batch
from .raw_txn_v2 import describe, end_txn, init_producer_v5

TOPIC = "tv2-restart"
TID = "tv2-restart"


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(TIMEOUT_S)


def test_transactions_v2_state_survives_kill_9(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "broker"
    proc = start_broker(data_dir, port, {})
    bootstrap = f"127.0.0.1:{port}"
    try:
        create_topic(bootstrap, TOPIC, 1)
        coordinator = coordinator_address(bootstrap, TID)
        pid, epoch = init_producer_v5(coordinator, TID)
        batch = transactional_batch(pid, epoch, 0, [b"kept-0", b"kept-1"])
        assert produce(bootstrap, TID, (TOPIC, 0), batch, version=12) == ErrorCode.none

        _kill(proc)
        proc = start_broker(data_dir, port, {})
        coordinator = coordinator_address(bootstrap, TID)
        state, _, _, parts = describe(coordinator, TID)
        assert (state, parts) == ("Ongoing", {(TOPIC, 0)})
        assert end_txn(coordinator, TID, (pid, epoch), commit=True) == (
            ErrorCode.none,
            pid,
            epoch + 1,
        )

        _kill(proc)
        proc = start_broker(data_dir, port, {})
        coordinator = coordinator_address(bootstrap, TID)
        assert describe(coordinator, TID)[:3] == ("CompleteCommit", pid, epoch + 1)
        # the retry of the commit, with the epoch it was sent with
        assert end_txn(coordinator, TID, (pid, epoch), commit=True) == (
            ErrorCode.none,
            pid,
            epoch + 1,
        )
        # the next transaction goes on at the bumped epoch
        nxt = transactional_batch(pid, epoch + 1, 0, [b"next"])
        assert produce(bootstrap, TID, (TOPIC, 0), nxt, version=12) == ErrorCode.none
        assert end_txn(coordinator, TID, (pid, epoch + 1), commit=True) == (
            ErrorCode.none,
            pid,
            epoch + 2,
        )
        put_sentinels(bootstrap, TOPIC, 1)
        assert read_to_sentinels(bootstrap, TOPIC, 1, "read_committed") == [
            b"kept-0",
            b"kept-1",
            b"next",
        ]
    finally:
        _kill(proc)
