"""The browser's result actions: export the whole result set, import a file, re-produce."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.messages import BulkProgress, ProduceRequest, Record, ScanSpec
from desktop.models.messages import MessagesModel, as_records
from desktop.services.export import Encoding, export_records, read_jsonl, to_requests
from desktop.services.produce import ProducerSettings
from desktop.views.topic_choice import TopicCombo
from desktop.workers.bulk_produce import bulk_send_job
from desktop.workers.jobs import Job, JobContext, JobFailure, Lane, cancelled_with
from desktop.workers.scan import export_scan_job
from desktop.workers.session import ClusterSession

UNBOUNDED = 2**62  # a send whose length is known only at its end


class ResultsSource(Protocol):
    """What the bar needs from the messages page (a Protocol: the page imports this module)."""

    session: ClusterSession
    model: MessagesModel
    last_spec: ScanSpec | None

    def selected_records(self) -> list[Record]: ...


class ResultsBar(QWidget):
    """Buttons under the results table; the work runs on threads, the outcome shows in a line."""

    def __init__(self, page: ResultsSource) -> None:
        super().__init__()
        self.page = page
        self.export_job: Job | None = None
        self.produce_job: Job | None = None
        self._track = cancelled_with(self)
        self.encoding = QComboBox()
        self.encoding.addItems([e.value for e in Encoding])
        self.encoding.setToolTip(
            "text: UTF-8 where possible (others base64, marked); base64: every key and value"
        )
        self.export_jsonl = QPushButton("Export JSON Lines…")
        self.export_csv = QPushButton("Export CSV…")
        self.import_button = QPushButton("Import JSON Lines…")
        self.target_topic = TopicCombo("target topic")
        self.target_topic.setMinimumWidth(160)
        self.reproduce = QPushButton("Re-produce selected")
        self.export_jsonl.clicked.connect(lambda: self._ask_export("jsonl"))
        self.export_csv.clicked.connect(lambda: self._ask_export("csv"))
        self.import_button.clicked.connect(self._ask_import)
        self.reproduce.clicked.connect(self.reproduce_selected)
        self.io_status = QLabel("")
        self.io_status.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Bytes as"))
        row.addWidget(self.encoding)
        row.addWidget(self.export_jsonl)
        row.addWidget(self.export_csv)
        row.addWidget(self.import_button)
        row.addStretch(1)
        row.addWidget(self.target_topic)
        row.addWidget(self.reproduce)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.io_status)

    def _ask_export(self, fmt: str) -> None:
        suffix = "JSON Lines (*.jsonl)" if fmt == "jsonl" else "CSV (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, "Export messages", f"messages.{fmt}", suffix)
        if path:
            self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str = "jsonl") -> Job:
        """Write the whole result set: the held rows, or — when rows were dropped — the same
        scan again, straight to the file."""
        encoding = Encoding(self.encoding.currentText())
        session = self.page.session
        if self.page.model.dropped and self.page.last_spec is not None:
            job = export_scan_job(session, self.page.last_spec, path, fmt, encoding)
        else:
            rows = self.page.model.snapshot()

            def write(_ctx: JobContext) -> int:
                return export_records(as_records(rows), path, fmt, encoding)

            job = Job("export", write, lane=Lane.STREAM, deadline_s=None)
        job.finished.connect(lambda n: self._exported(path, int(n)))
        job.failed.connect(self._export_failed)
        self.export_job = job
        self._track(job)
        self.io_status.setText(f"Exporting to {path}…")
        session.submit(job)
        return job

    def _export_failed(self, failure: JobFailure) -> None:
        self.export_job = None
        self.io_status.setText(f"Export failed: {failure.message}")

    def _exported(self, path: Path, count: int) -> None:
        self.export_job = None
        self.io_status.setText(f"Exported {count:,} messages to {path}.")

    @property
    def producing(self) -> bool:
        """True while an import or re-produce runs (until its result is shown)."""
        return self.produce_job is not None

    @property
    def exporting(self) -> bool:
        return self.export_job is not None

    def _ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import messages", "", "JSON Lines (*.jsonl *.json);;All files (*)"
        )
        if path:
            self.import_from(Path(path), self.target_topic.currentText().strip())

    def import_from(self, path: Path, topic: str) -> Job | None:
        """Produce every message of a JSON Lines export to `topic`; the file is read as it is
        sent, on the sending thread (a bad line stops the import and names the line)."""
        if not topic:
            self.io_status.setText("Choose the target topic to import into.")
            return None

        def requests() -> Iterable[ProduceRequest]:  # on the sending thread, not this one
            if not path.is_file():
                raise OSError(f"{path} is not a readable file.")
            return to_requests(read_jsonl(path), topic)

        return self._produce(requests, None, topic, f"Imported {path.name}")

    @Slot()
    def reproduce_selected(self) -> Job | None:
        topic = self.target_topic.currentText().strip()
        records = self.page.selected_records()
        if not records:
            self.io_status.setText("Select the messages to re-produce.")
            return None
        if not topic:
            self.io_status.setText("Choose the topic to re-produce to.")
            return None
        return self._produce(
            lambda: to_requests(records, topic), len(records), topic, "Re-produced"
        )

    def _produce(
        self,
        requests: Callable[[], Iterable[ProduceRequest]],
        total: int | None,
        topic: str,
        verb: str,
    ) -> Job:
        worker = bulk_send_job(
            self.page.session,
            ProducerSettings(),
            requests,
            UNBOUNDED if total is None else total,
        )

        def count(p: BulkProgress) -> str:
            return f"{p.delivered:,}" if total is None else f"{p.delivered:,} of {total:,}"

        def done(p: BulkProgress) -> None:
            text = f"{verb}: {count(p)} messages to '{topic}'."
            if p.failed:
                text += f" {p.failed:,} failed: {p.first_error}"
            self.io_status.setText(text)
            self.produce_job = None

        def failed(failure: JobFailure) -> None:
            self.io_status.setText(f"{verb} failed: {failure.message}")
            self.produce_job = None

        worker.progress.connect(lambda p: self.io_status.setText(f"Sending: {count(p)}…"))
        worker.finished.connect(done)
        worker.failed.connect(failed)
        self.produce_job = worker
        self._track(worker)
        self.page.session.submit(worker)
        return worker

    def shutdown(self) -> None:
        for job in (self.export_job, self.produce_job):
            if job is not None:
                job.cancel()
