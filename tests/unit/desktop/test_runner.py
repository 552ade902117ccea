"""The job runner's lanes without a cluster: coalescing, Cancel of stuck work, deadlines."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from desktop.workers.jobs import Job, JobContext, JobFailure, Lane
from desktop.workers.runner import JobRunner


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    r = JobRunner("test")
    yield r
    r.close()
    assert r.join(10)


def test_refreshes_coalesce_and_the_latest_wins(qtbot: QtBot, runner: JobRunner) -> None:
    gate = threading.Event()
    ran: list[str] = []

    def work(name: str) -> Job:
        def run(_ctx: JobContext) -> str:
            if name == "first":
                gate.wait(10)
            ran.append(name)
            return name

        return Job(name, run, lane=Lane.REFRESH, key="snapshot")

    first, second, third = work("first"), work("second"), work("third")
    runner.submit(first)
    qtbot.waitUntil(lambda: first.began, timeout=5000)
    runner.submit(second)
    runner.submit(third)
    gate.set()
    qtbot.waitUntil(lambda: third.ended, timeout=5000)
    assert ran == ["first", "third"]
    assert second.ended and not second.began  # superseded while waiting, never ran
    assert runner.pending(Lane.REFRESH, "snapshot") is False
    qtbot.waitUntil(lambda: not runner._jobs, timeout=5000)  # nothing kept alive


def test_cancel_abandons_stuck_work_and_the_lane_goes_on(qtbot: QtBot, runner: JobRunner) -> None:
    release = threading.Event()
    stuck = Job("stuck", lambda _c: release.wait(30))  # ignores its token
    failures: list[JobFailure] = []
    stuck.failed.connect(failures.append)
    runner.submit(stuck)
    qtbot.waitUntil(lambda: stuck.began, timeout=5000)
    t0 = time.perf_counter()
    stuck.cancel()
    qtbot.waitUntil(lambda: stuck.ended, timeout=5000)
    assert time.perf_counter() - t0 < 1.0
    assert failures == [JobFailure("stuck", "Cancelled.", cancelled=True)]

    after = Job("after", lambda _c: "ran")
    runner.submit(after)
    qtbot.waitUntil(lambda: after.ended, timeout=5000)  # not behind the stuck thread
    assert after.result == "ran"
    release.set()


def test_a_deadline_abandons_the_job_with_a_clear_message(qtbot: QtBot, runner: JobRunner) -> None:
    release = threading.Event()
    job = Job("load the topics", lambda _c: release.wait(30), deadline_s=0.3)
    failures: list[JobFailure] = []
    job.failed.connect(failures.append)
    runner.submit(job)
    qtbot.waitUntil(lambda: job.ended, timeout=5000)
    release.set()
    assert failures[0].timed_out
    assert failures[0].message.startswith("Load the topics took longer than 0.3 s")


def test_streams_run_side_by_side(qtbot: QtBot, runner: JobRunner) -> None:
    both = threading.Barrier(2, timeout=5)
    jobs = [Job(f"s{i}", lambda _c: both.wait(), lane=Lane.STREAM) for i in range(2)]
    for job in jobs:
        runner.submit(job)
    qtbot.waitUntil(lambda: all(j.ended for j in jobs), timeout=10_000)
    assert all(j.failure is None for j in jobs)


@pytest.mark.parametrize("end", ["cancel", "deadline", "tab closed"])
def test_work_failing_after_its_job_was_cancelled_is_no_error(
    qtbot: QtBot, runner: JobRunner, caplog: pytest.LogCaptureFixture, end: str
) -> None:
    """Cut-off clients make the work of a cancelled job raise; that is news for nobody: not an
    ERROR record (in CI such late records landed in later tests) and not a failure shown."""
    returned = threading.Event()

    def work(ctx: JobContext) -> None:
        try:
            ctx.token.event.wait(30)
            raise RuntimeError("Bootstrap failed: the connection was closed under me")
        finally:
            returned.set()

    job = Job("sizes on disk", work, lane=Lane.STREAM, deadline_s=0.3 if end == "deadline" else 30)
    failures: list[JobFailure] = []
    job.failed.connect(failures.append)
    runner.submit(job)
    qtbot.waitUntil(lambda: job.began, timeout=5000)
    if end == "cancel":
        job.cancel()
    elif end == "tab closed":
        runner.close()
    qtbot.waitUntil(returned.is_set, timeout=5000)
    assert job.join(5)
    qtbot.waitUntil(lambda: job.ended, timeout=5000)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors
    assert all(f.cancelled or f.timed_out for f in failures), failures
    assert len(failures) == (0 if end == "tab closed" else 1)
