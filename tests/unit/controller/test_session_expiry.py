"""A broker that stops heartbeating is fenced as soon as its session expires, not up to an
eighth of the session timeout later (that delay went into every failover)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from embedded_broker.controller.quorum import Controller

from .controller_setup import Clock, make_cluster


def test_a_silent_broker_is_fenced_right_after_its_session_expires() -> None:
    controller: Controller = make_cluster(None, _Now())
    controller.session_timeout_ms = 3000

    async def scenario() -> float:
        checks = asyncio.ensure_future(controller.run_session_checks())
        # the last heartbeat comes just after a check: with checks 1/8 of the timeout apart
        # the expiry was only seen 3/8 s late
        await asyncio.sleep(0.05)
        for broker in (101, 102, 103):
            controller.heartbeat(broker)
        silent_since = time.monotonic()
        try:
            while not controller.image.brokers[101].fenced:
                for broker in (102, 103):
                    controller.heartbeat(broker)
                await asyncio.sleep(0.01)
            return time.monotonic() - silent_since
        finally:
            checks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checks

    elapsed = asyncio.run(scenario())
    assert 3.0 <= elapsed < 3.0 + 0.2


class _Now(Clock):
    """The real monotonic clock in ms, as the controller uses by default."""

    def __call__(self) -> int:
        return time.monotonic_ns() // 1_000_000
