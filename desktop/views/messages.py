"""The message browser: scan a topic range with a search, watch progress, inspect, export."""

from __future__ import annotations

import time

from PySide6.QtCore import QDateTime, QItemSelection, Qt, Slot
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.cluster import ClusterSnapshot
from desktop.domain.messages import (
    Record,
    Row,
    ScanBatch,
    ScanProgress,
    ScanSpec,
    SearchError,
    SearchField,
    SearchSpec,
    StartMode,
    StopMode,
)
from desktop.models.messages import DEFAULT_CAP, MessagesModel
from desktop.views.message_detail import InlineError, MessageDetail
from desktop.views.messages_io import ResultsBar
from desktop.views.topic_choice import TopicCombo
from desktop.workers.jobs import Job, JobFailure, cancelled_with
from desktop.workers.scan import GUI_FIRST, scan_job
from desktop.workers.session import ClusterSession

MAX_INT = 2_147_483_647


def parse_partitions(text: str) -> tuple[int, ...] | None:
    """ "all" or empty → None; "0, 2, 4-6" → (0, 2, 4, 5, 6); raises ValueError."""
    text = text.strip().lower()
    if not text or text == "all":
        return None
    found: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if sep:
            found.update(range(int(lo), int(hi) + 1))
        else:
            found.add(int(part))
    if any(p < 0 for p in found):
        raise ValueError("partitions are numbered from 0")
    return tuple(sorted(found))


def ms(edit: QDateTimeEdit) -> int:
    return int(edit.dateTime().toMSecsSinceEpoch())


def date_edit() -> QDateTimeEdit:
    edit = QDateTimeEdit(QDateTime.currentDateTime())
    edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss.zzz")
    edit.setCalendarPopup(True)
    return edit


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


class MessagesTable(QTableView):
    """The results table; scans pause while it paints (see GuiFirst)."""

    def paintEvent(self, event: QPaintEvent) -> None:
        with GUI_FIRST:
            super().paintEvent(event)


class MessagesPage(QWidget):
    """One topic at a time; a scan runs on its own thread and can be stopped."""

    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self.session = session
        self.scan: Job | None = None
        self.last_spec: ScanSpec | None = None
        self.last_result: ScanProgress | None = None
        self._stop_clicked_at: float | None = None
        self.stop_latency_s: float | None = None
        self._scanning = False
        self.model = MessagesModel()
        self._track = cancelled_with(self)

        # ---- what to read ----------------------------------------------------------------
        self.topic = TopicCombo("topic")
        self.topic.setMinimumWidth(200)
        self.partitions = QLineEdit()
        self.partitions.setPlaceholderText("all (or 0, 2, 4-6)")
        self.start_mode = QComboBox()
        self.start_mode.addItems([m.value for m in StartMode])
        self.start_offset = QSpinBox()
        self.start_offset.setRange(0, MAX_INT)
        self.newest_n = QSpinBox()
        self.newest_n.setRange(1, MAX_INT)
        self.newest_n.setValue(100)
        self.start_time = date_edit()
        self.group = QLineEdit()
        self.group.setPlaceholderText("consumer group id")
        self.start_param = QStackedWidget()
        self._start_pages = {
            StartMode.EARLIEST: QWidget(),
            StartMode.LATEST: QWidget(),
            StartMode.NEWEST_N: self.newest_n,
            StartMode.OFFSET: self.start_offset,
            StartMode.TIMESTAMP: self.start_time,
            StartMode.GROUP: self.group,
        }
        for w in dict.fromkeys(self._start_pages.values()):
            self.start_param.addWidget(w)
        self.start_mode.currentTextChanged.connect(
            lambda t: self.start_param.setCurrentWidget(self._start_pages[StartMode(t)])
        )
        self.stop_mode = QComboBox()
        self.stop_mode.addItems([m.value for m in StopMode])
        self.stop_count = QSpinBox()
        self.stop_count.setRange(1, MAX_INT)
        self.stop_count.setValue(1000)
        self.stop_time = date_edit()
        self.stop_param = QStackedWidget()
        self._stop_pages = {
            StopMode.END: QWidget(),
            StopMode.COUNT: self.stop_count,
            StopMode.TIMESTAMP: self.stop_time,
            StopMode.LIVE: QWidget(),
        }
        for w in dict.fromkeys(self._stop_pages.values()):
            self.stop_param.addWidget(w)
        self.stop_mode.currentTextChanged.connect(
            lambda t: self.stop_param.setCurrentWidget(self._stop_pages[StopMode(t)])
        )
        self.cap = QSpinBox()
        self.cap.setRange(100, 10_000_000)
        self.cap.setSingleStep(10_000)
        self.cap.setValue(DEFAULT_CAP)
        self.cap.setToolTip("The table keeps at most this many rows; older ones are dropped.")
        self.max_matches = QSpinBox()
        self.max_matches.setRange(0, MAX_INT)
        self.max_matches.setSpecialValueText("no limit")
        self.max_matches.setToolTip("The scan stops once this many messages matched.")

        # ---- search ----------------------------------------------------------------------
        self.search_field = QComboBox()
        self.search_field.addItems([f.value for f in SearchField])
        self.header_name = QLineEdit()
        self.header_name.setPlaceholderText("header name")
        self.header_name.setEnabled(False)
        self.search_field.currentTextChanged.connect(
            lambda t: self.header_name.setEnabled(t == SearchField.HEADER.value)
        )
        self.search_text = QLineEdit()
        self.search_text.setPlaceholderText("contains…")
        self.regex = QCheckBox("Regex")
        self.json_path = QLineEdit()
        self.json_path.setPlaceholderText("JSON path, e.g. customer.id")
        self.json_value = QLineEdit()
        self.json_value.setPlaceholderText("equals")
        self.time_from_on = QCheckBox("From")
        self.time_from = date_edit()
        self.time_to_on = QCheckBox("to")
        self.time_to = date_edit()
        self.search_error = InlineError()

        # ---- run -------------------------------------------------------------------------
        self.scan_button = QPushButton("Scan")
        self.scan_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.scan_button.clicked.connect(self.start_scan)
        self.stop_button.clicked.connect(self.stop_scan)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(200)
        self.status = QLabel("Choose a topic and press Scan.")
        self.dropped = QLabel("")
        self.dropped.setStyleSheet("color: #8a5a00;")
        self.partition_table = QTableWidget(0, 3)
        self.partition_table.setHorizontalHeaderLabels(["Partition", "Position", "End"])
        self.partition_table.verticalHeader().setVisible(False)
        self.partition_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.partition_table.setMaximumWidth(260)
        self.partition_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

        # ---- results ---------------------------------------------------------------------
        self.table = MessagesTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(
            MessagesModel.VALUE, QHeaderView.ResizeMode.Stretch
        )
        for col, width in ((0, 70), (1, 90), (2, 170), (3, 100), (4, 160), (6, 70), (7, 70)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.detail = MessageDetail()

        self.io = ResultsBar(self)

        self._layout()
        session.snapshot_changed.connect(self._on_snapshot)
        if session.snapshot is not None:
            self._on_snapshot(session.snapshot)

    def _layout(self) -> None:
        form = QFormLayout()
        line1 = QHBoxLayout()
        line1.addWidget(self.topic, 2)
        line1.addWidget(QLabel("Partitions"))
        line1.addWidget(self.partitions, 1)
        line1.addWidget(QLabel("Keep at most"))
        line1.addWidget(self.cap)
        line1.addWidget(QLabel("rows; stop after"))
        line1.addWidget(self.max_matches)
        line1.addWidget(QLabel("matches"))
        form.addRow("Topic", line1)
        line2 = QHBoxLayout()
        line2.addWidget(self.start_mode)
        line2.addWidget(self.start_param, 1)
        line2.addWidget(QLabel("Stop at"))
        line2.addWidget(self.stop_mode)
        line2.addWidget(self.stop_param, 1)
        form.addRow("Start at", line2)
        line3 = QHBoxLayout()
        line3.addWidget(self.search_field)
        line3.addWidget(self.header_name)
        line3.addWidget(self.search_text, 2)
        line3.addWidget(self.regex)
        line3.addWidget(self.json_path, 1)
        line3.addWidget(QLabel("="))
        line3.addWidget(self.json_value, 1)
        form.addRow("Search", line3)
        line4 = QHBoxLayout()
        line4.addWidget(self.time_from_on)
        line4.addWidget(self.time_from)
        line4.addWidget(self.time_to_on)
        line4.addWidget(self.time_to)
        line4.addStretch(1)
        form.addRow("Time range", line4)
        run = QHBoxLayout()
        run.addWidget(self.scan_button)
        run.addWidget(self.stop_button)
        run.addWidget(self.progress)
        run.addWidget(self.status, 1)
        run.addWidget(self.dropped)

        results = QSplitter(Qt.Orientation.Horizontal)
        results.addWidget(self.table)
        results.addWidget(self.partition_table)
        results.setStretchFactor(0, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(results)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.search_error)
        layout.addLayout(run)
        layout.addWidget(split, 1)
        layout.addWidget(self.io)

    # ---- topics from the cluster snapshot ------------------------------------------------

    @Slot(object)
    def _on_snapshot(self, snapshot: ClusterSnapshot) -> None:
        names = [t.name for t in snapshot.topics]
        self.topic.set_topics(names)
        self.io.target_topic.set_topics(names)

    def set_topic(self, name: str) -> None:
        self.topic.setCurrentText(name)

    # ---- scanning ------------------------------------------------------------------------

    def build_spec(self) -> ScanSpec:
        """The scan the form describes; raises ValueError/SearchError for bad input."""
        topic = self.topic.currentText().strip()
        if not topic:
            raise ValueError("Choose a topic to scan.")
        try:
            partitions = parse_partitions(self.partitions.text())
        except ValueError as exc:
            raise ValueError(f"Partitions: use 'all' or numbers like 0, 2, 4-6 ({exc}).") from exc
        search = SearchSpec(
            text=self.search_text.text(),
            regex=self.regex.isChecked(),
            field=SearchField(self.search_field.currentText()),
            header=self.header_name.text().strip(),
            json_path=self.json_path.text().strip(),
            json_value=self.json_value.text(),
            time_from=ms(self.time_from) if self.time_from_on.isChecked() else None,
            time_to=ms(self.time_to) if self.time_to_on.isChecked() else None,
        )
        if search.field is SearchField.HEADER and search.text and not search.header:
            raise SearchError("Name the header to search in.")
        search.compile()  # raises SearchError for a bad regex
        return ScanSpec(
            topic=topic,
            partitions=partitions,
            start=StartMode(self.start_mode.currentText()),
            start_offset=self.start_offset.value(),
            newest_n=self.newest_n.value(),
            start_time=ms(self.start_time),
            group=self.group.text().strip(),
            stop=StopMode(self.stop_mode.currentText()),
            stop_count=self.stop_count.value(),
            stop_time=ms(self.stop_time),
            search=search,
            max_matches=self.max_matches.value() or None,
        )

    @Slot()
    def start_scan(self) -> None:
        if self.scanning:
            return
        try:
            spec = self.build_spec()
        except ValueError as exc:
            self.search_error.setText(str(exc))
            return
        self.search_error.setText("")
        self.run_scan(spec)

    def run_scan(self, spec: ScanSpec) -> Job:
        self.model.clear()
        self.model.set_cap(self.cap.value())
        self.detail.set_record(None)
        self.dropped.setText("")
        self.partition_table.setRowCount(0)
        self.last_spec = spec
        self.last_result = None
        self.stop_latency_s = None
        self._stop_clicked_at = None
        worker = scan_job(self.session, spec)
        worker.progress.connect(self._on_batch)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self.scan = worker
        self._track(worker)
        self._scanning = True
        self.scan_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText(f"Scanning {spec.topic}…")
        self.session.submit(worker)
        return worker

    @Slot()
    def stop_scan(self) -> None:
        if self.scan is not None and self.scanning:
            self._stop_clicked_at = time.monotonic()
            self.scan.cancel()
            self.status.setText("Stopping…")

    @property
    def scanning(self) -> bool:
        """True from Scan until this page has handled the scan's end (rows, status and all)."""
        return self._scanning

    def _on_batch(self, batch: ScanBatch) -> None:
        if self.sender() is not self.scan:
            return
        if batch.rows:
            self._on_rows(batch.rows)
        self._on_progress(batch.progress)

    def _on_rows(self, rows: list[Row]) -> None:
        with GUI_FIRST:
            self.model.append(rows)
        if self.model.dropped:
            self.dropped.setText(
                f"{self.model.dropped:,} older rows dropped (the table keeps {self.model.cap:,})"
            )

    def _on_progress(self, p: ScanProgress) -> None:
        frac = p.fraction
        if frac is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(frac * 1000))
        self.status.setText(self._progress_text(p))
        table = self.partition_table
        if table.rowCount() != len(p.partitions):
            table.setRowCount(len(p.partitions))
        for i, part in enumerate(p.partitions):
            end = "live" if part.end is None else f"{part.end:,}"
            for col, text in enumerate((str(part.partition), f"{part.position:,}", end)):
                item = table.item(i, col)
                if item is None:
                    item = QTableWidgetItem()
                    table.setItem(i, col, item)
                item.setText(text)

    @staticmethod
    def _progress_text(p: ScanProgress) -> str:
        return (
            f"scanned {p.scanned:,} · matched {p.matched:,} · {human_bytes(p.bytes)} · "
            f"{p.rate:,.0f} msg/s"
        )

    def _on_finished(self, p: ScanProgress) -> None:
        if self.sender() is not self.scan:
            return
        self._on_progress(p)
        if self._stop_clicked_at is not None:
            self.stop_latency_s = time.monotonic() - self._stop_clicked_at
        self.last_result = p
        self.progress.setRange(0, 1000)
        if p.reason == "end":
            self.progress.setValue(1000)
        reasons = {
            "end": "reached the end",
            "stopped": "stopped",
            "limit": "limit reached",
        }
        self.status.setText(
            f"Done ({reasons.get(p.reason, p.reason)}): {self._progress_text(p)} "
            f"in {p.elapsed_s:.1f} s"
        )
        self._scanning = False
        self.scan_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _on_failed(self, failure: JobFailure) -> None:
        if self.sender() is not self.scan:
            return
        self.status.setText("Stopped." if failure.cancelled else "Scan failed.")
        self.search_error.setText("" if failure.cancelled else failure.message)
        self._scanning = False
        self.scan_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _on_selection(self, _sel: QItemSelection, _old: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        self.detail.set_record(self.model.record(rows[-1].row()) if rows else None)

    def selected_records(self) -> list[Record]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.record(r) for r in rows]

    def shutdown(self) -> None:
        if self.scan is not None:
            self.scan.cancel()
        self.io.shutdown()
