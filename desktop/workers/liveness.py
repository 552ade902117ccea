"""A long-lived stream job that probes every known broker once a second and reports rounds."""

from __future__ import annotations

import threading
import time

from desktop.domain.cluster import BrokerInfo
from desktop.services.liveness import PROBE_TIMEOUT_S, probe_all
from desktop.workers.jobs import Job, JobContext, Lane

PROBE_INTERVAL_S = 1.0


class ProbeTargets:
    """The brokers to probe: written on the GUI thread, read by the probe thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._brokers: tuple[BrokerInfo, ...] = ()

    def set(self, brokers: list[BrokerInfo]) -> None:
        with self._lock:
            self._brokers = tuple(brokers)

    def get(self) -> list[BrokerInfo]:
        with self._lock:
            return list(self._brokers)


def liveness_job(targets: ProbeTargets, speak: bool, interval_s: float = PROBE_INTERVAL_S) -> Job:
    """Reports each round's list of ProbeResult as progress until cancelled (no deadline)."""

    def work(ctx: JobContext) -> None:
        while not ctx.token.cancelled:
            began = time.monotonic()
            brokers = targets.get()
            if brokers:
                ctx.report(probe_all(brokers, PROBE_TIMEOUT_S, speak))
            ctx.token.event.wait(max(0.05, interval_s - (time.monotonic() - began)))

    return Job("broker liveness", work, lane=Lane.STREAM, deadline_s=None)
