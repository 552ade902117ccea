"""The producer form: one message with key, headers and settings; where its key will land."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QDateTime, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.cluster import ClusterSnapshot
from desktop.domain.messages import DeliveryReport, ProduceRequest
from desktop.domain.typed_bytes import (
    KEY_ENCODINGS,
    PLACEHOLDERS,
    Encoding,
    encode,
    error_for,
    pretty_json,
)
from desktop.models.messages import format_timestamp
from desktop.services.produce import (
    ACKS,
    ACKS_HELP,
    COMPRESSIONS,
    PARTITIONERS,
    ProducerSettings,
    predict_partition,
)
from desktop.views.bulk import BulkPanel
from desktop.views.message_detail import InlineError, mono_font
from desktop.views.topic_choice import TopicCombo
from desktop.views.widgets.common import scrolling, set_role
from desktop.workers.jobs import Job, JobFailure, Lane
from desktop.workers.session import ClusterSession

VALUE_TEXT, VALUE_JSON, VALUE_FILE = Encoding.TEXT, Encoding.JSON, Encoding.FILE
HISTORY_MAX = 200


@dataclass(frozen=True)
class Sent:
    request: ProduceRequest
    report: DeliveryReport
    key_text: str | None = None  # the key as typed (a typed number's bytes are not text)

    def label(self) -> str:
        key = self.key_text
        if key is None:
            key = "null" if self.request.key is None else self.request.key.decode(errors="replace")
        r = self.report
        return (
            f"{format_timestamp(r.timestamp)}  {r.topic}[{r.partition}]@{r.offset}  key={key[:40]}"
        )


class HeadersTable(QTableWidget):
    def __init__(self) -> None:
        super().__init__(0, 2)
        self.setHorizontalHeaderLabels(["Header", "Value"])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setVisible(False)
        self.setMaximumHeight(130)

    def add(self, name: str = "", value: str = "") -> None:
        row = self.rowCount()
        self.insertRow(row)
        self.setItem(row, 0, QTableWidgetItem(name))
        self.setItem(row, 1, QTableWidgetItem(value))

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.selectedIndexes()}, reverse=True):
            self.removeRow(row)

    def pairs(self) -> tuple[tuple[str, str], ...]:
        out = []
        for row in range(self.rowCount()):
            name_item, value_item = self.item(row, 0), self.item(row, 1)
            name = name_item.text().strip() if name_item else ""
            if name:
                out.append((name, value_item.text() if value_item else ""))
        return tuple(out)


class ProducerPage(QWidget):
    """Form on the left, bulk sending and history on the right."""

    sent = Signal(object)  # DeliveryReport

    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self.session = session
        self.history: list[Sent] = []
        self.job: Job | None = None
        self.file_job: Job | None = None
        self.last_report: DeliveryReport | None = None
        self.file_bytes: bytes | None = None
        self._names: tuple[str, ...] = ()
        self._internal: frozenset[str] = frozenset()

        self.topic = TopicCombo("topic")
        self.auto_partition = QCheckBox("automatic")
        self.auto_partition.setChecked(True)
        self.partition = QSpinBox()
        self.partition.setRange(0, 100_000)
        self.partition.setEnabled(False)
        self.auto_partition.toggled.connect(lambda on: self.partition.setEnabled(not on))
        self.key = QLineEdit()
        self.key_mode = QComboBox()
        self.key_mode.addItems(list(KEY_ENCODINGS))
        self.key_mode.setToolTip("How the key's text becomes bytes")
        self.key_error = InlineError()
        self.null_key = QCheckBox("null key")
        self.null_key.toggled.connect(self._on_null_key)
        self.show_internal = QCheckBox("show internal")
        self.show_internal.setToolTip(
            "Offer Kafka's internal topics (__consumer_offsets, __transaction_state, …) too"
        )
        self.show_internal.toggled.connect(self._offer_topics)
        self.prediction = QLabel("")
        self.prediction.setWordWrap(True)
        set_role(self.prediction, "muted")
        self.value_mode = QComboBox()
        self.value_mode.addItems(list(Encoding))
        self.value_mode.setToolTip("How the value's text becomes bytes")
        self.format_button = QPushButton("Format")
        self.file_button = QPushButton("Choose file…")
        self.value = QPlainTextEdit()
        self.value.setFont(mono_font())
        self.value.setPlaceholderText("value")
        self.value_error = InlineError()
        self.headers = HeadersTable()
        self.add_header = QPushButton("Add header")
        self.remove_header = QPushButton("Remove")
        # a lambda, so clicked(bool) does not become the header name
        self.add_header.clicked.connect(lambda: self.headers.add())  # noqa: PLW0108
        self.remove_header.clicked.connect(self.headers.remove_selected)
        self.now = QCheckBox("now")
        self.now.setChecked(True)
        self.timestamp = QDateTimeEdit(QDateTime.currentDateTime())
        self.timestamp.setDisplayFormat("yyyy-MM-dd HH:mm:ss.zzz")
        self.timestamp.setEnabled(False)
        self.now.toggled.connect(lambda on: self.timestamp.setEnabled(not on))
        self.compression = QComboBox()
        self.compression.addItems(COMPRESSIONS)
        self.acks = QComboBox()
        self.acks.addItems(ACKS)
        for i, acks in enumerate(ACKS):
            self.acks.setItemData(i, ACKS_HELP[acks], Qt.ItemDataRole.ToolTipRole)
        self.acks.setToolTip("\n".join(ACKS_HELP[a] for a in ACKS))
        self.acks_help = QLabel(ACKS_HELP[self.acks.currentText()])
        self.acks_help.setWordWrap(True)
        set_role(self.acks_help, "muted")
        self.acks.currentTextChanged.connect(lambda a: self.acks_help.setText(ACKS_HELP[a]))
        self.idempotence = QCheckBox("idempotent")
        self.partitioner = QComboBox()
        self.partitioner.addItems(list(PARTITIONERS))
        for i, text in enumerate(PARTITIONERS.values()):
            self.partitioner.setItemData(i, text)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(self.result.textInteractionFlags())

        self.history_list = QListWidget()
        self.resend = QPushButton("Re-send selected")
        self.resend.clicked.connect(self.resend_selected)
        self.bulk = BulkPanel(session, self)

        self.value_mode.currentTextChanged.connect(self._on_value_mode)
        self.format_button.clicked.connect(self.format_json)
        self.file_button.clicked.connect(self._choose_file)
        self.value.textChanged.connect(self._validate)
        self.key_mode.currentTextChanged.connect(self._on_key_mode)
        self.key.textChanged.connect(self._validate_key)
        for signal in (
            self.key.textChanged,
            self.key_mode.currentTextChanged,
            self.null_key.toggled,
            self.auto_partition.toggled,
            self.partitioner.currentTextChanged,
            self.topic.currentTextChanged,
        ):
            signal.connect(self.update_prediction)
        self.send_button.clicked.connect(self.send)
        self._layout()
        self._on_value_mode(VALUE_TEXT)
        self._on_key_mode(Encoding.TEXT)
        session.snapshot_changed.connect(self._on_snapshot)
        if session.snapshot is not None:
            self._on_snapshot(session.snapshot)

    def _layout(self) -> None:
        form = QFormLayout()
        topic = QHBoxLayout()
        topic.addWidget(self.topic, 1)
        topic.addWidget(self.show_internal)
        form.addRow("Topic", topic)
        part = QHBoxLayout()
        part.addWidget(self.auto_partition)
        part.addWidget(self.partition)
        part.addStretch(1)
        form.addRow("Partition", part)
        key = QHBoxLayout()
        key.addWidget(self.key_mode)
        key.addWidget(self.key, 1)
        key.addWidget(self.null_key)
        form.addRow("Key", key)
        form.addRow("", self.key_error)
        form.addRow("", self.prediction)
        mode = QHBoxLayout()
        mode.addWidget(self.value_mode)
        mode.addWidget(self.format_button)
        mode.addWidget(self.file_button)
        mode.addStretch(1)
        form.addRow("Value", mode)
        form.addRow(self.value)
        form.addRow("", self.value_error)
        hdr_buttons = QHBoxLayout()
        hdr_buttons.addWidget(self.add_header)
        hdr_buttons.addWidget(self.remove_header)
        hdr_buttons.addStretch(1)
        form.addRow("Headers", hdr_buttons)
        form.addRow(self.headers)
        ts = QHBoxLayout()
        ts.addWidget(self.now)
        ts.addWidget(self.timestamp, 1)
        form.addRow("Timestamp", ts)
        settings = QHBoxLayout()
        settings.addWidget(QLabel("Compression"))
        settings.addWidget(self.compression)
        settings.addWidget(QLabel("Acks"))
        settings.addWidget(self.acks)
        settings.addWidget(self.idempotence)
        settings.addStretch(1)
        form.addRow("Settings", settings)
        form.addRow("", self.acks_help)
        form.addRow("Partitioner", self.partitioner)
        send = QHBoxLayout()
        send.addWidget(self.send_button)
        send.addWidget(self.result, 1)
        form.addRow(send)
        left = QWidget()
        left.setLayout(form)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.bulk)
        rl.addWidget(QLabel("<b>History</b> (this session)"))
        rl.addWidget(self.history_list, 1)
        rl.addWidget(self.resend)
        split = QSplitter()
        # each side scrolls rather than setting the page's minimum height (1024x640 fits)
        split.addWidget(scrolling(left))
        split.addWidget(scrolling(right))
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    # ---- cluster data --------------------------------------------------------------------

    @Slot(object)
    def _on_snapshot(self, snapshot: ClusterSnapshot) -> None:
        self._names = tuple(t.name for t in snapshot.topics)
        self._internal = frozenset(t.name for t in snapshot.topics if t.internal)
        self._offer_topics()
        self.update_prediction()

    @Slot()
    def _offer_topics(self) -> None:
        """Internal topics only when asked: Kafka refuses most writes to them anyway."""
        shown = self.show_internal.isChecked()
        names = [n for n in self._names if shown or n not in self._internal]
        self.topic.set_topics(names)
        self.bulk.topic.set_topics(names)

    def preselect_topic(self, name: str) -> None:
        """Start from the topic the user selected elsewhere (the Topics table)."""
        if name in self._internal and not self.show_internal.isChecked():
            self.show_internal.setChecked(True)  # they chose it: offer it
        self.topic.setCurrentText(name)

    def partition_count(self, topic: str) -> int | None:
        snap = self.session.snapshot
        info = snap.topic(topic) if snap is not None else None
        return info.partition_count if info is not None else None

    # ---- the form ------------------------------------------------------------------------

    def settings(self) -> ProducerSettings:
        return ProducerSettings(
            compression=self.compression.currentText(),
            acks=self.acks.currentText(),
            idempotence=self.idempotence.isChecked(),
            partitioner=self.partitioner.currentText(),
        )

    def key_bytes(self) -> bytes | None:
        """The key the form describes (None: a null key, or one that is not valid yet)."""
        if self.null_key.isChecked():
            return None
        try:
            return encode(self.key.text(), Encoding(self.key_mode.currentText()))
        except ValueError:
            return None

    def _on_null_key(self, on: bool) -> None:
        self.key.setEnabled(not on)
        self.key_mode.setEnabled(not on)
        self._validate_key()

    def _on_key_mode(self, mode: str) -> None:
        self.key.setPlaceholderText(f"key: {PLACEHOLDERS[Encoding(mode)]}")
        self._validate_key()

    def _validate_key(self) -> bool:
        error = ""
        if not self.null_key.isChecked() and self.key.text():
            error = error_for(self.key.text(), Encoding(self.key_mode.currentText()))
        self.key_error.setText(f"Key: {error}" if error else "")
        return not error

    @Slot()
    def update_prediction(self) -> None:
        name = self.partitioner.currentText()
        how = PARTITIONERS.get(name, "")
        if not self.auto_partition.isChecked():
            self.prediction.setText(f"Goes to partition {self.partition.value()} (chosen).")
            return
        count = self.partition_count(self.topic.currentText().strip())
        if count is None:
            self.prediction.setText(f"Partitioner {name} ({how}); topic not known yet.")
            return
        if not self._validate_key():
            self.prediction.setText("Fix the key to see where it goes.")
            return
        predicted = predict_partition(self.key_bytes(), count, name)
        where = "a random partition" if predicted is None else f"partition {predicted}"
        self.prediction.setText(f"This key goes to {where} of {count:,} — {name}: {how}.")

    def predicted_partition(self) -> int | None:
        count = self.partition_count(self.topic.currentText().strip())
        if count is None:
            return None
        return predict_partition(self.key_bytes(), count, self.partitioner.currentText())

    def _on_value_mode(self, mode: str) -> None:
        self.format_button.setVisible(mode == VALUE_JSON)
        self.file_button.setVisible(mode == VALUE_FILE)
        self.value.setReadOnly(mode == VALUE_FILE)
        self.value.setPlaceholderText(f"value: {PLACEHOLDERS[Encoding(mode)]}")
        if mode != VALUE_FILE:
            self.file_bytes = None
        self._validate()

    def _validate(self) -> bool:
        mode = Encoding(self.value_mode.currentText())
        error = ""
        if mode is Encoding.FILE:
            if self.file_bytes is None:
                error = "Choose a file to send as the value."
        elif mode is not Encoding.TEXT:
            error = error_for(self.value.toPlainText(), mode)
        self.value_error.setText(error)
        return not error

    @Slot()
    def format_json(self) -> None:
        if not self._validate():
            return
        # numbers keep their digits: 49.90 stays 49.90 (json.dumps would write 49.9)
        self.value.setPlainText(pretty_json(self.value.toPlainText()))

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Value from file")
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> Job:
        """Read the value's file on a job (the GUI never waits on the disk)."""
        self.file_bytes = None
        self.value.setPlainText(f"Reading {path.name}…")
        job = Job("read file", lambda _ctx: path.read_bytes(), lane=Lane.STREAM, deadline_s=60)
        job.finished.connect(lambda data: self._file_loaded(job, path, data))
        job.failed.connect(lambda failure: self._file_failed(job, path, failure))
        self.file_job = job
        self.session.submit(job)
        return job

    def _file_loaded(self, job: Job, path: Path, data: bytes) -> None:
        if job is not self.file_job:
            return
        self.file_job = None
        self.file_bytes = data
        self.value.setPlainText(f"{path.name}: {len(data):,} bytes")
        self._validate()

    def _file_failed(self, job: Job, path: Path, failure: JobFailure) -> None:
        if job is not self.file_job:
            return
        self.file_job = None
        self.value.setPlainText(f"Could not read {path.name}: {failure.message}")
        self._validate()

    def value_bytes(self) -> bytes:
        mode = Encoding(self.value_mode.currentText())
        if mode is Encoding.FILE:
            return self.file_bytes if self.file_bytes is not None else b""
        return encode(self.value.toPlainText(), mode)  # validated before

    def build_request(self) -> ProduceRequest | None:
        """The message the form describes, or None (with an inline error) when it is invalid."""
        topic = self.topic.currentText().strip()
        if not topic:
            self.result.setText("Choose a topic.")
            return None
        if not self._validate_key():
            self.result.setText("Not sent: fix the key first.")
            return None
        if not self._validate():
            self.result.setText("Not sent: fix the value first.")
            return None
        count = self.partition_count(topic)
        if not self.auto_partition.isChecked() and count and self.partition.value() >= count:
            self.result.setText(
                f"Not sent: '{topic}' has {count:,} partition(s), numbered 0 to {count - 1:,}."
            )
            return None
        headers = tuple((k, v.encode()) for k, v in self.headers.pairs())
        return ProduceRequest(
            topic,
            self.key_bytes(),
            self.value_bytes(),
            headers,
            partition=None if self.auto_partition.isChecked() else self.partition.value(),
            timestamp=None
            if self.now.isChecked()
            else int(self.timestamp.dateTime().toMSecsSinceEpoch()),
        )

    @Slot()
    def send(self) -> None:
        req = self.build_request()
        if req is not None:
            self._send(req, None if self.null_key.isChecked() else self.key.text())

    def _send(self, req: ProduceRequest, key_text: str | None = None) -> None:
        if self.job is not None:
            return
        if self.send_button.hasFocus():
            # disabling the focused button would hand focus to the next widget in the chain
            # (the bulk panel's Topic box); the next message is typed in the value box
            self.value.setFocus(Qt.FocusReason.OtherFocusReason)
        self.send_button.setEnabled(False)
        self.result.setText("Sending…")
        self.job = self.session.send(
            self.settings(),
            req,
            lambda report: self._delivered(req, report, key_text),
            self._failed,
        )

    def _delivered(
        self, req: ProduceRequest, report: DeliveryReport, key_text: str | None = None
    ) -> None:
        self.job = None
        self.send_button.setEnabled(True)
        self.last_report = report
        self.result.setText(
            f"Delivered to {report.topic} partition {report.partition} at offset "
            f"{report.offset}, timestamp {format_timestamp(report.timestamp)} "
            f"({report.timestamp})."
        )
        entry = Sent(req, report, key_text)
        self.history.insert(0, entry)
        del self.history[HISTORY_MAX:]
        item = QListWidgetItem(entry.label())
        self.history_list.insertItem(0, item)
        while self.history_list.count() > HISTORY_MAX:
            self.history_list.takeItem(self.history_list.count() - 1)
        self.sent.emit(report)

    def _failed(self, message: str) -> None:
        self.job = None
        self.send_button.setEnabled(True)
        self.last_report = None
        self.result.setText(f"Not delivered: {message}")

    @Slot()
    def resend_selected(self) -> None:
        row = self.history_list.currentRow()
        if 0 <= row < len(self.history):
            entry = self.history[row]
            self._send(entry.request, entry.key_text)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def shutdown(self) -> None:
        self.bulk.stop()
        for job in (self.job, self.file_job):
            if job is not None:
                job.cancel()
