"""The groups service reads metadata through ClusterAdmin.metadata(): the app's deadline and a
cancel end it within a slice, where one list_topics call held the job for the whole timeout
(built-in broker behind a proxy that holds the Metadata answers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from desktop.domain.groups import ResetMode, ResetRequest
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.admin import ClusterAdmin
from desktop.services.cancel import CancelToken, JobCancelled, JobTimedOut
from desktop.services.groups import GroupsAdmin
from tests.broker_fixtures import BrokerFactory
from tests.gui.test_groups_support import create_topic
from tests.slow_proxy import SlowProxy

METADATA = 3  # the Kafka API key of a Metadata request
TIMEOUT_S = 10.0


@pytest.fixture
def held(builtin_broker_factory: BrokerFactory) -> Iterator[tuple[GroupsAdmin, SlowProxy]]:
    """A groups service whose metadata answers are held back (from the second one on)."""
    proxy = SlowProxy()
    broker = builtin_broker_factory(config=proxy.advertised())
    proxy.upstream = ("127.0.0.1", broker.port)
    create_topic(broker.bootstrap, "orders", 2)
    admin = ClusterAdmin(ClusterProfile("t", proxy.bootstrap), Credentials(), TIMEOUT_S, "t")
    admin.metadata()  # one answer in time: the next calls go in slices
    proxy.hold(METADATA, 60.0)
    try:
        yield GroupsAdmin(admin), proxy
    finally:
        proxy.release()
        proxy.close()


def _ended(
    call: Callable[[], Any], stop: Callable[[], None], proxy: SlowProxy
) -> tuple[Any, float]:
    """Run `call` on a thread; once its metadata request is held, `stop()`; what it ended with
    (a result or an exception) and how long after the stop."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:  # what the job would see
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while proxy.held == 0 and time.monotonic() < deadline:
        threading.Event().wait(0.02)
    t0 = time.monotonic()
    stop()
    thread.join(30)
    assert out, "still running"
    return out[0], time.monotonic() - t0


@pytest.mark.parametrize("call", ["partition counts", "reset preview"])
def test_a_cancel_ends_the_groups_metadata_read_within_a_slice(
    held: tuple[GroupsAdmin, SlowProxy], call: str
) -> None:
    ga, proxy = held
    token = ga.admin.token = CancelToken()
    request = ResetRequest("g", "orders", (), ResetMode.EARLIEST)
    work = ga.partition_counts if call == "partition counts" else lambda: ga.plan_reset(request)
    got, after_s = _ended(work, token.cancel, proxy)
    assert isinstance(got, JobCancelled), got
    assert after_s < 5.0, after_s  # a slice (1-2 s), not the 10 s timeout


def test_the_deadline_ends_the_groups_metadata_read(held: tuple[GroupsAdmin, SlowProxy]) -> None:
    ga, proxy = held
    token = ga.admin.token = CancelToken()
    started = time.monotonic()
    got, _after = _ended(ga.partition_counts, lambda: token.start_clock(1.0), proxy)
    assert isinstance(got, JobTimedOut), got
    assert time.monotonic() - started < 6.0
