"""Send many messages on their own thread, with progress, an optional rate limit and Stop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from desktop.domain.messages import BulkProgress, DeliveryReport, ProduceRequest
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.produce import FormProducer, ProduceError, ProducerSettings
from desktop.workers.thread_job import ThreadJob

log = logging.getLogger(__name__)


class BulkProduceWorker(ThreadJob):
    """Runs FormProducer.send_many on a thread; signals carry BulkProgress."""

    result: BulkProgress | None

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        settings: ProducerSettings,
        requests: Callable[[], Iterable[ProduceRequest]],
        total: int,
        *,
        rate: float | None = None,
        on_report: Callable[[DeliveryReport], None] | None = None,
    ) -> None:
        super().__init__("bulk-produce")
        self._profile = profile
        self._creds = creds
        self._settings = settings
        self._requests = requests
        self.total = total
        self.rate = rate
        self._on_report = on_report

    def _run(self) -> None:
        producer: FormProducer | None = None
        try:
            producer = FormProducer(self._profile, self._creds, self._settings)
            producer.send_many(
                self._requests(),
                self.total,
                self._report,
                self._stop,
                rate=self.rate,
                on_report=self._on_report,
            )
        except (ProduceError, ValueError, OSError) as exc:
            self.failed.emit(str(exc))
        except BaseException as exc:
            log.exception("bulk produce failed")
            self.failed.emit(f"Unexpected error while sending: {type(exc).__name__}: {exc}")
        finally:
            if producer is not None:
                producer.close()
