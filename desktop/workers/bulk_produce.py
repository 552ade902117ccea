"""Send many messages on their own thread, with progress, an optional rate limit and Stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Signal

from desktop.domain.messages import BulkProgress, DeliveryReport, ProduceRequest
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.produce import FormProducer, ProduceError, ProducerSettings
from desktop.workers.scan import favour_gui_thread

log = logging.getLogger(__name__)


class BulkProduceWorker(QObject):
    """Runs FormProducer.send_many on a thread; signals carry BulkProgress."""

    progressed = Signal(object)  # BulkProgress
    finished = Signal(object)  # BulkProgress with finished=True
    failed = Signal(str)

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
        super().__init__()
        self._profile = profile
        self._creds = creds
        self._settings = settings
        self._requests = requests
        self.total = total
        self.rate = rate
        self._on_report = on_report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bulk-produce", daemon=True)
        self.running = False
        self.result: BulkProgress | None = None
        self.finished.connect(self._on_finished)
        self.failed.connect(self._on_failed)

    def start(self) -> None:
        favour_gui_thread()
        self.running = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _on_finished(self, progress: BulkProgress) -> None:
        self.running = False
        self.result = progress

    def _on_failed(self, _message: str) -> None:
        self.running = False

    def _progress(self, progress: BulkProgress) -> None:
        if progress.finished:
            self.finished.emit(progress)
        else:
            self.progressed.emit(progress)

    def _run(self) -> None:
        producer: FormProducer | None = None
        try:
            producer = FormProducer(self._profile, self._creds, self._settings)
            producer.send_many(
                self._requests(),
                self.total,
                self._progress,
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
