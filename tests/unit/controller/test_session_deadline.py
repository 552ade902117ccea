"""The controller's session checker wakes at the moment the oldest session expires, as Kafka's
schedules its check, so a killed leader is fenced without a polling delay on top."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from embedded_broker.controller import quorum
from embedded_broker.controller.quorum import Controller

from .controller_setup import Clock, make_cluster


def test_until_next_expiry_follows_the_oldest_live_session() -> None:
    clock = Clock()
    controller = make_cluster(None, clock)  # sessions of 2000 ms, all renewed at 0
    assert controller.until_next_expiry_s() == pytest.approx(2.001)
    clock.now = 1500
    controller.heartbeat(102)
    controller.heartbeat(103)
    assert controller.until_next_expiry_s() == pytest.approx(0.501)  # 101's, renewed at 0
    clock.now = 2500
    assert controller.until_next_expiry_s() == 0


def test_a_silent_broker_is_fenced_at_its_expiry_not_at_the_next_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    controller: Controller = make_cluster(None, clock)
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:  # time passes only when the checker sleeps
        await real_sleep(0)  # (after the test has looked at the last check's outcome)
        clock.now += round(seconds * 1000)
        for broker in (102, 103):
            controller.heartbeat(broker)

    monkeypatch.setattr(quorum.asyncio, "sleep", sleep)

    async def scenario() -> int:
        checks = asyncio.ensure_future(controller.run_session_checks())
        try:
            while not controller.image.brokers[101].fenced:
                await real_sleep(0)
            return clock.now
        finally:
            checks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checks

    fenced_at = asyncio.run(scenario())
    # 101's last heartbeat was at 0 and its session is 2000 ms: fenced 1 ms after it ran out
    # (checks every 100 ms fenced it at 2100)
    assert fenced_at == 2001
    assert not controller.image.brokers[102].fenced
