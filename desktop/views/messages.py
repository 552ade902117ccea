"""The message browser: scan a topic range with a search, watch progress, inspect, export."""

from __future__ import annotations

import time

from PySide6.QtCore import QDateTime, QItemSelection, QPoint, Qt, Slot
from PySide6.QtGui import QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.cluster import ClusterSnapshot
from desktop.domain.messages import (
    ISOLATION_HELP,
    Isolation,
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
from desktop.domain.timefmt import TimeFormat
from desktop.models.messages import DEFAULT_CAP, MessagesModel
from desktop.settings.browser_prefs import BrowserPrefs
from desktop.views.message_detail import InlineError, MessageDetail
from desktop.views.messages_io import ResultsBar
from desktop.views.topic_choice import TopicCombo
from desktop.views.widgets.common import scrolling, set_role
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
    edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
    edit.setCalendarPopup(True)
    return edit


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


def shrinkable(combo: QComboBox, chars: int = 10) -> QComboBox:
    """A combo that may be narrower than its longest entry (the popup still shows it whole)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


def row_of(*widgets: QWidget | str, stretch: dict[int, int] | None = None) -> QWidget:
    box = QWidget()
    line = QHBoxLayout(box)
    line.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        line.addWidget(QLabel(w) if isinstance(w, str) else w, (stretch or {}).get(i, 0))
    return box


class FormScroll(QScrollArea):
    """The scan form: as tall as its contents, scrolling sideways in a narrow window rather
    than pushing its minimum width onto the window (which clipped and overlapped widgets)."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def fit(self) -> None:
        content = self.widget()
        if content is None:
            return
        height = content.sizeHint().height()
        if content.minimumSizeHint().width() > self.width():
            height += self.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()


class MessagesTable(QTableView):
    """The results table; scans pause while it paints (see GuiFirst)."""

    def paintEvent(self, event: QPaintEvent) -> None:
        with GUI_FIRST:
            super().paintEvent(event)


class MessagesPage(QWidget):
    """One topic at a time; a scan runs on its own thread and can be stopped."""

    def __init__(self, session: ClusterSession, prefs: BrowserPrefs | None = None) -> None:
        super().__init__()
        self.session = session
        self.prefs = prefs or BrowserPrefs()
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
        self.topic.setMinimumWidth(140)
        self.topic.currentTextChanged.connect(lambda _t: self._fill_offsets_table())
        self._offsets_for: tuple[str, int] | None = None
        self.partitions = QLineEdit()
        self.partitions.setPlaceholderText("all (or 0, 2, 4-6)")
        self.start_mode = shrinkable(QComboBox())
        self.start_mode.addItems([m.value for m in StartMode])
        self.start_offset = QSpinBox()
        self.start_offset.setRange(0, MAX_INT)
        self.newest_n = QSpinBox()
        self.newest_n.setRange(1, MAX_INT)
        self.newest_n.setValue(100)
        self.start_time = date_edit()
        self.group = QLineEdit()
        self.group.setPlaceholderText("consumer group id")
        # an explicit start offset per partition; a blank cell starts at the earliest
        self.offsets_table = QTableWidget(0, 2)
        self.offsets_table.setHorizontalHeaderLabels(["Partition", "Start offset"])
        self.offsets_table.verticalHeader().setVisible(False)
        self.offsets_table.verticalHeader().setDefaultSectionSize(22)
        self.offsets_table.horizontalHeader().setStretchLastSection(True)
        self.offsets_table.setMaximumHeight(110)
        self.offsets_table.setVisible(False)
        self.offsets_hint = QLabel("set below; blank: earliest")
        self.start_param = QStackedWidget()
        self._start_pages = {
            StartMode.EARLIEST: QWidget(),
            StartMode.LATEST: QWidget(),
            StartMode.NEWEST_N: self.newest_n,
            StartMode.OFFSET: self.start_offset,
            StartMode.PER_PARTITION: self.offsets_hint,
            StartMode.TIMESTAMP: self.start_time,
            StartMode.GROUP: self.group,
        }
        for w in dict.fromkeys(self._start_pages.values()):
            self.start_param.addWidget(w)
        self.start_mode.currentTextChanged.connect(self._on_start_mode)
        self.stop_mode = shrinkable(QComboBox())
        self.stop_mode.addItems([m.value for m in StopMode])
        self.stop_count = QSpinBox()
        self.stop_count.setRange(1, MAX_INT)
        self.stop_count.setValue(1000)
        self.stop_count.setToolTip(
            "N messages in all, split evenly over the partitions (a partition with fewer "
            "gives its share to the others)."
        )
        self.stop_time = date_edit()
        self.stop_param = QStackedWidget()
        self._stop_pages = {
            StopMode.END: QWidget(),
            StopMode.COUNT: row_of(self.stop_count, "split evenly over partitions"),
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
        self.max_matches.setRange(0, 99_999_999)
        self.max_matches.setSpecialValueText("no limit")
        self.max_matches.setToolTip("The scan stops once this many messages matched.")

        self.isolation = shrinkable(QComboBox(), 14)
        self.isolation.addItems([i.value for i in Isolation])
        self.isolation_help = QLabel()
        self.isolation_help.setWordWrap(True)
        self.isolation.currentTextChanged.connect(
            lambda t: self.isolation_help.setText(ISOLATION_HELP[Isolation(t)])
        )
        self.isolation_help.setText(ISOLATION_HELP[Isolation.READ_COMMITTED])

        # ---- search ----------------------------------------------------------------------
        self.search_field = shrinkable(QComboBox(), 6)
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
        # long progress lines are cut, not allowed to widen the window
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.time_format = shrinkable(QComboBox(), 8)
        self.time_format.addItems([f.value for f in TimeFormat])
        self.time_format.setToolTip("How timestamps are shown (remembered)")
        self.time_format.setCurrentText(self.prefs.time_format.value)
        self.time_format.currentTextChanged.connect(self._on_time_format)
        self.form_toggle = QToolButton()
        self.form_toggle.setCheckable(True)
        self.form_toggle.setText("Hide form")
        self.form_toggle.setToolTip("Hide the scan form to give the table more room")
        self.form_toggle.toggled.connect(self._on_form_toggled)
        self.dropped = QLabel("")
        set_role(self.dropped, "warn")
        self.partition_table = QTableWidget(0, 3)
        self.partition_table.setHorizontalHeaderLabels(["Partition", "Position", "End"])
        self.partition_table.verticalHeader().setVisible(False)
        self.partition_table.verticalHeader().setDefaultSectionSize(22)
        self.partition_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.partition_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

        # ---- results ---------------------------------------------------------------------
        self.table = MessagesTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # arrival order until a click
        header.setSortIndicatorShown(True)
        self.table.setSortingEnabled(True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._show_column_menu)
        self.table.horizontalHeader().setSectionResizeMode(
            MessagesModel.VALUE, QHeaderView.ResizeMode.Stretch
        )
        for col, width in (
            (0, 70),
            (1, 90),
            (2, 170),
            (3, 100),
            (4, 160),
            (6, 70),
            (7, 70),
            (8, 130),
        ):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.detail = MessageDetail()
        self._apply_time_format(self.prefs.time_format)
        for col, title in enumerate(MessagesModel.TITLES):
            self.table.setColumnHidden(col, title in self.prefs.hidden_columns)

        self.io = ResultsBar(self)

        self._layout()
        session.snapshot_changed.connect(self._on_snapshot)
        if session.snapshot is not None:
            self._on_snapshot(session.snapshot)

    def _layout(self) -> None:
        form = QWidget()
        grid = QGridLayout(form)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        def pair(row: int, col: int, label: str, field: QWidget) -> None:
            grid.addWidget(QLabel(label), row, col)
            grid.addWidget(field, row, col + 1)

        pair(0, 0, "Topic", self.topic)
        pair(0, 2, "Partitions", self.partitions)
        pair(0 + 1, 0, "Start at", row_of(self.start_mode, self.start_param, stretch={1: 1}))
        pair(1, 2, "Stop at", row_of(self.stop_mode, self.stop_param, stretch={1: 1}))
        pair(
            2,
            0,
            "Search",
            row_of(
                self.search_field,
                self.header_name,
                self.search_text,
                self.regex,
                stretch={2: 2, 1: 1},
            ),
        )
        pair(2, 2, "JSON path", row_of(self.json_path, "=", self.json_value, stretch={0: 1, 2: 1}))
        pair(
            3,
            0,
            "Time",
            row_of(
                self.time_from_on, self.time_from, self.time_to_on, self.time_to, stretch={4: 0}
            ),
        )
        pair(
            3,
            2,
            "Keep",
            row_of(self.cap, "rows, stop after", self.max_matches, "matches"),
        )
        pair(5, 0, "Isolation", row_of(self.isolation, self.isolation_help, stretch={1: 1}))
        self.offsets_label = QLabel("Offsets")
        self.offsets_label.setVisible(False)
        grid.addWidget(self.offsets_label, 4, 0)
        grid.addWidget(self.offsets_table, 4, 1, 1, 3)
        self.form = FormScroll(form)

        run = QHBoxLayout()
        run.addWidget(self.scan_button)
        run.addWidget(self.stop_button)
        run.addWidget(self.progress)
        run.addWidget(self.status, 1)
        run.addWidget(self.dropped)
        run.addWidget(QLabel("Times"))
        run.addWidget(self.time_format)
        run.addWidget(self.form_toggle)

        # the detail beside the table, not under it: the table keeps the page's full height
        side = QSplitter(Qt.Orientation.Vertical)
        # the detail scrolls rather than setting the page's minimum height (1024x640 fits)
        side.addWidget(scrolling(self.detail))
        side.addWidget(self.partition_table)
        side.setStretchFactor(0, 4)
        side.setStretchFactor(1, 1)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.table)
        self.split.addWidget(side)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.search_error)
        layout.addLayout(run)
        layout.addWidget(self.split, 1)
        layout.addWidget(self.io)

    # ---- view choices: form, time format, columns -----------------------------------------

    def _on_form_toggled(self, hidden: bool) -> None:
        self.form.setVisible(not hidden)
        self.form_toggle.setText("Show form" if hidden else "Hide form")

    def _on_start_mode(self, text: str) -> None:
        mode = StartMode(text)
        self.start_param.setCurrentWidget(self._start_pages[mode])
        per_partition = mode is StartMode.PER_PARTITION
        self.offsets_table.setVisible(per_partition)
        self.offsets_label.setVisible(per_partition)
        if per_partition:
            self._fill_offsets_table()
        self.form.fit()

    def _on_time_format(self, text: str) -> None:
        fmt = TimeFormat(text)
        self.prefs.time_format = fmt
        self._apply_time_format(fmt)

    def _apply_time_format(self, fmt: TimeFormat) -> None:
        self.model.set_time_format(fmt)
        self.detail.set_time_format(fmt)

    def column_menu(self) -> QMenu:
        """Show/hide columns (remembered), and back to arrival order."""
        menu = QMenu(self)
        for col, title in enumerate(MessagesModel.TITLES):
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(not self.table.isColumnHidden(col))
            action.toggled.connect(lambda on, c=col: self.set_column_visible(c, on))
        menu.addSeparator()
        arrival = menu.addAction("Arrival order (unsorted)")
        arrival.triggered.connect(lambda: self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder))
        return menu

    def _show_column_menu(self, pos: QPoint) -> None:
        menu = self.column_menu()
        menu.exec(self.table.horizontalHeader().mapToGlobal(pos))
        menu.deleteLater()

    def set_column_visible(self, col: int, visible: bool) -> None:
        shown = [c for c in range(self.model.columnCount()) if not self.table.isColumnHidden(c)]
        if not visible and shown == [col]:
            return  # the last visible column stays: a table with none has no header to undo it
        self.table.setColumnHidden(col, not visible)
        self.prefs.hidden_columns = frozenset(
            t for c, t in enumerate(MessagesModel.TITLES) if self.table.isColumnHidden(c)
        )

    def _fill_offsets_table(self) -> None:
        snapshot = self.session.snapshot
        info = snapshot.topic(self.topic.currentText().strip()) if snapshot else None
        count = len(info.partitions) if info is not None else 0
        if self._offsets_for == (self.topic.currentText().strip(), count):
            return  # keep what the user typed
        self._offsets_for = (self.topic.currentText().strip(), count)
        table = self.offsets_table
        table.setRowCount(0)
        table.setRowCount(count)
        for p in range(count):
            item = QTableWidgetItem(str(p))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(p, 0, item)
            table.setItem(p, 1, QTableWidgetItem(""))

    def start_offsets(self) -> tuple[tuple[int, int], ...]:
        """(partition, offset) for each filled cell of the start-offsets table."""
        found = []
        for r in range(self.offsets_table.rowCount()):
            part, cell = self.offsets_table.item(r, 0), self.offsets_table.item(r, 1)
            text = cell.text().strip() if cell is not None else ""
            if part is None or not text:
                continue
            if not text.isdigit():
                raise ValueError(
                    f"Start offset of partition {part.text()}: '{text}' is not an offset "
                    "(a whole number, or blank for the earliest)."
                )
            found.append((int(part.text()), int(text)))
        return tuple(found)

    # ---- topics from the cluster snapshot ------------------------------------------------

    @Slot(object)
    def _on_snapshot(self, snapshot: ClusterSnapshot) -> None:
        names = [t.name for t in snapshot.topics]
        self.topic.set_topics(names)
        self.io.target_topic.set_topics(names)
        self._fill_offsets_table()

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
            start_offsets=self.start_offsets()
            if self.start_mode.currentText() == StartMode.PER_PARTITION.value
            else (),
            newest_n=self.newest_n.value(),
            start_time=ms(self.start_time),
            group=self.group.text().strip(),
            stop=StopMode(self.stop_mode.currentText()),
            stop_count=self.stop_count.value(),
            stop_time=ms(self.stop_time),
            search=search,
            max_matches=self.max_matches.value() or None,
            isolation=Isolation(self.isolation.currentText()),
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
        self.model.set_txn_marks(p.txn)
        self.progress.setRange(0, 1000)
        if p.reason == "end":
            self.progress.setValue(1000)
        reasons = {
            "end": "reached the end",
            "stopped": "stopped",
            "limit": "limit reached",
        }
        txn = ""
        if p.txn is not None:
            rows = self.model.snapshot()
            aborted = p.txn.count(rows, "aborted txn")
            txn = f" · {aborted:,} aborted-txn records marked" if aborted else ""
        elif (
            self.last_spec is not None
            and self.last_spec.isolation is Isolation.READ_UNCOMMITTED
            and p.matched
        ):
            # the marks come from a second, read_committed pass that a tail or Stop never runs
            txn = " · aborted-txn records not marked (the scan was a live tail or was stopped)"
        self.status.setText(
            f"Done ({reasons.get(p.reason, p.reason)}): {self._progress_text(p)} "
            f"in {p.elapsed_s:.1f} s{txn}"
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
