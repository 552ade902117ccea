"""Bulk sends as stream jobs on the cluster's producer: progress, a rate limit and Cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from desktop.domain.messages import BulkProgress, DeliveryReport, ProduceRequest
from desktop.services.produce import ProducerSettings
from desktop.workers.jobs import Job, JobContext, Lane
from desktop.workers.session import ClusterSession


def bulk_send_job(
    session: ClusterSession,
    settings: ProducerSettings,
    requests: Callable[[], Iterable[ProduceRequest]],
    total: int,
    *,
    rate: float | None = None,
    on_report: Callable[[DeliveryReport], None] | None = None,
) -> Job:
    """Send `total` messages (`requests` is called on the job's thread: it may read a file).
    progress and finished carry BulkProgress; `on_report` runs on the job's thread."""

    def work(ctx: JobContext) -> BulkProgress:
        producer = ctx.clients.producer(settings)
        last = producer.send_many(
            requests(), total, ctx.report, ctx.token.event, rate=rate, on_report=on_report
        )
        return last

    # bounded by Cancel and by each message's own delivery timeout, not by a deadline
    return Job("bulk send", work, lane=Lane.STREAM, deadline_s=None)
