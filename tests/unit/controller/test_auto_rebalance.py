"""The controller's periodic preferred-leader election (auto.leader.rebalance.enable), driven
without sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from embedded_broker.controller.elections import run_auto_rebalance
from embedded_broker.controller.quorum import Controller
from embedded_broker.metadata.records import PartitionChange

from .controller_setup import TID, Clock, make_cluster, silence

INTERVAL_S = 0.01


def _back_in_sync(controller: Controller, clock: Clock) -> None:
    """101 fenced (102 takes partition 0), then unfenced and back in the ISR: partition 0 is
    led by a replica other than its preferred one, which could lead it again."""
    silence(controller, clock, alive={102, 103})
    asyncio.run(controller.append(lambda: controller.unfence_records(101)))
    asyncio.run(controller.append(lambda: [PartitionChange(TID, 0, isr=(102, 103, 101))]))
    assert controller.image.topics["t"].partitions[0].leader == 102


async def _run_until_led_by(controller: Controller, broker: int, timeout_s: float) -> int:
    task = asyncio.create_task(run_auto_rebalance(controller, INTERVAL_S))
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if task.done():
                break  # the checks ended (their exception is raised below)
            leader: int = controller.image.topics["t"].partitions[0].leader
            if leader == broker:
                return leader
            await asyncio.sleep(INTERVAL_S)
        if task.done():
            task.result()
        leader = controller.image.topics["t"].partitions[0].leader
        return leader
    finally:
        task.cancel()


def test_the_check_gives_leadership_back_to_the_preferred_replica() -> None:
    clock = Clock()
    controller = make_cluster(None, clock)
    _back_in_sync(controller, clock)
    assert asyncio.run(_run_until_led_by(controller, 101, 5)) == 101


def test_a_failed_check_is_tried_again_at_the_next_interval(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Kafka reschedules a failed periodic task; before, one failed metadata write (a full disk)
    # ended the checks for the controller's lifetime
    clock = Clock()
    controller = make_cluster(None, clock)
    _back_in_sync(controller, clock)
    write = controller.log.write
    failures = [OSError(28, "No space left on device")]

    def flaky(records: Any) -> Any:
        if failures:
            raise failures.pop()
        return write(records)

    monkeypatch.setattr(controller.log, "write", flaky)
    assert asyncio.run(_run_until_led_by(controller, 101, 5)) == 101
    assert "The preferred-leader check failed" in caplog.text
