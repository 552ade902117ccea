"""One in-process cluster broker with a group coordinator journaling through __consumer_offsets,
for tests that set the partition's state themselves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from embedded_broker.coordinator import CoordinatorConfig, GroupCoordinator
from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC
from embedded_broker.group_runtime.journal import ReplicatedJournal
from embedded_broker.group_runtime.runtime import RUNTIME_KEY, GroupRuntime
from embedded_broker.handlers.groups import _LoopScheduler, _StateClock
from embedded_broker.runner import BrokerRunner
from embedded_broker.state import BrokerState
from tests.broker_fixtures import TEST_DEFAULTS


def run_broker(tmp_path: Path, config: Mapping[str, str]) -> Iterator[BrokerRunner]:
    """A broker on ``TEST_DEFAULTS`` plus ``config`` for a fixture to yield from, stopped after."""
    runner = BrokerRunner(port=0, data_dir=tmp_path, config={**TEST_DEFAULTS, **config})
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def install_group_runtime(
    state: BrokerState, topic_configs: Mapping[str, str], *, register: bool = False
) -> tuple[GroupRuntime, GroupCoordinator]:
    """Create __consumer_offsets (one partition, compacted, plus ``topic_configs``) and attach a
    coordinator that writes through a GroupRuntime (``register``: as the handlers' runtime too,
    which share groups look up). Runs on the broker's loop."""
    configs = {"cleanup.policy": "compact", **topic_configs}
    state.create_topic(OFFSETS_TOPIC, 1, configs, internal=True)
    runtime = GroupRuntime(state)
    if register:
        state.extensions[RUNTIME_KEY] = runtime
    coord = GroupCoordinator(
        _StateClock(state),
        _LoopScheduler(asyncio.get_running_loop()),
        ReplicatedJournal(runtime),
        CoordinatorConfig(),
        records=[],
    )
    runtime.attach(coord)
    return runtime, coord


def until(condition: Callable[[], Any], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
