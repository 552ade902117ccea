"""A producer table load still running when the broker becomes a partition's leader is not
installed: it read the log before the batches fetched meanwhile, and a table missing them
would refuse the producer's next sequence as out of order (seen under ten leader kills)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from kio.schema.errors import ErrorCode

from embedded_broker import producer_state
from tests.unit.test_producer_state_snapshots import Partition, idem


def test_a_load_begun_as_follower_is_not_installed_after_becoming_leader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part = Partition(tmp_path, [1_700_000_000_000])
    part.log.append(idem(0), now_ms=0)  # fetched from the old leader
    scanned, release = threading.Event(), threading.Event()
    real_load = producer_state.load_partition
    calls = 0

    def slow_first_load(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        table = real_load(*args)
        if calls == 1:
            scanned.set()
            release.wait(10)
        return table

    monkeypatch.setattr(producer_state, "load_partition", slow_first_load)

    async def scenario() -> ErrorCode:
        # a produce sent here by a client with stale metadata starts the load as a follower
        loading = asyncio.ensure_future(part.manager.load(("t", 0)))
        await asyncio.get_running_loop().run_in_executor(None, scanned.wait, 10)
        part.log.append(idem(1), now_ms=0)  # fetched while the load ran
        part.manager.forget_partition("t", 0)  # this broker becomes the leader
        release.set()
        await loading
        code, _offset = part.produce(idem(2))  # the producer's next batch, to the new leader
        return code

    assert asyncio.run(scenario()) == ErrorCode.none
    assert calls == 2  # the disowned load was followed by a fresh one
