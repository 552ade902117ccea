"""The browser's result actions: export the whole result set, import a file, re-produce."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

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

from desktop.domain.messages import BulkProgress, ProduceRequest, ScanProgress, ScanSpec
from desktop.models.messages import as_records
from desktop.services.export import Encoding, export_records, read_jsonl, to_requests
from desktop.services.produce import ProducerSettings
from desktop.views.topic_choice import TopicCombo
from desktop.workers.bulk_produce import BulkProduceWorker
from desktop.workers.scan import ScanWorker, session_credentials, stopped_with
from desktop.workers.task import Task

if TYPE_CHECKING:
    from desktop.views.messages import MessagesPage

UNBOUNDED = 2**62  # a send whose length is known only at its end
Job = ScanWorker | Task


class ResultsBar(QWidget):
    """Buttons under the results table; the work runs on threads, the outcome shows in a line."""

    def __init__(self, page: MessagesPage) -> None:
        super().__init__()
        self.page = page
        self.export_job: Job | None = None
        self.produce_job: BulkProduceWorker | None = None
        self._track = stopped_with(self)
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
        job: Job
        if self.page.model.dropped and self.page.last_spec is not None:
            job = self._export_by_rescan(self.page.last_spec, path, fmt, encoding)
        else:
            rows = self.page.model.snapshot()
            job = Task(lambda: export_records(as_records(rows), path, fmt, encoding), "export")
            job.done.connect(lambda n: self._exported(path, int(n)))
            job.failed.connect(self._export_failed)
            job.start()
        self.export_job = job
        self.io_status.setText(f"Exporting to {path}…")
        return job

    def _export_by_rescan(
        self, spec: ScanSpec, path: Path, fmt: str, encoding: Encoding
    ) -> ScanWorker:
        from desktop.services.export import CsvWriter, JsonLinesWriter

        out = path.open("w", encoding="utf-8", newline="")
        writer = CsvWriter(out, encoding) if fmt == "csv" else JsonLinesWriter(out, encoding)
        worker = ScanWorker(
            self.page.session.profile,
            session_credentials(self.page.session),
            spec,
            sink=lambda rows: writer.write(as_records(rows)),
        )

        def done(_p: ScanProgress) -> None:
            out.close()
            self._exported(path, writer.count)

        def failed(message: str) -> None:
            out.close()
            self._export_failed(message)

        worker.finished.connect(done)
        worker.failed.connect(failed)
        self._track(worker)
        worker.start()
        return worker

    def _export_failed(self, message: str) -> None:
        self.export_job = None
        self.io_status.setText(f"Export failed: {message}")

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

    def import_from(self, path: Path, topic: str) -> BulkProduceWorker | None:
        """Produce every message of a JSON Lines export to `topic`; the file is read as it is
        sent, on the sending thread (a bad line stops the import and names the line)."""
        if not topic:
            self.io_status.setText("Choose the target topic to import into.")
            return None
        if not path.is_file():
            self.io_status.setText(f"Import failed: {path} is not a readable file.")
            return None
        return self._produce(
            lambda: to_requests(read_jsonl(path), topic), None, topic, f"Imported {path.name}"
        )

    @Slot()
    def reproduce_selected(self) -> BulkProduceWorker | None:
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
    ) -> BulkProduceWorker:
        worker = BulkProduceWorker(
            self.page.session.profile,
            session_credentials(self.page.session),
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

        def failed(message: str) -> None:
            self.io_status.setText(f"{verb} failed: {message}")
            self.produce_job = None

        worker.progressed.connect(lambda p: self.io_status.setText(f"Sending: {count(p)}…"))
        worker.finished.connect(done)
        worker.failed.connect(failed)
        self.produce_job = worker
        self._track(worker)
        worker.start()
        return worker

    def shutdown(self) -> None:
        for job in (self.export_job, self.produce_job):
            if isinstance(job, ScanWorker | BulkProduceWorker):
                job.stop()
