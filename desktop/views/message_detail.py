"""The selected message: key, value and headers in a chosen rendering; copy buttons."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.codec import ViewMode, auto_mode, confluent_schema_id, parse_json, render
from desktop.domain.messages import Record
from desktop.domain.timefmt import TimeFormat, format_timestamp
from desktop.services.export import record_to_json
from desktop.views.widgets.common import set_role

SHOW_MAX_BYTES = 256 * 1024
TREE_MAX_BYTES = 1024 * 1024
WRAP_MAX_CHARS = 4000


def mono_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def fill_tree(parent: QTreeWidget | QTreeWidgetItem, doc: Any, name: str = "") -> None:
    """Add `doc` under `parent`: objects and arrays become expandable nodes."""
    if isinstance(doc, dict):
        label = f"{{{len(doc)}}}"
        children: list[tuple[str, Any]] = [(str(k), v) for k, v in doc.items()]
    elif isinstance(doc, list):
        label = f"[{len(doc)}]"
        children = [(str(i), v) for i, v in enumerate(doc)]
    else:
        label = json.dumps(doc, ensure_ascii=False)
        children = []
    item = QTreeWidgetItem([name or "(root)", label])
    if isinstance(parent, QTreeWidget):
        parent.addTopLevelItem(item)
    else:
        parent.addChild(item)
    for key, value in children:
        fill_tree(item, value, key)


class InlineError(QLabel):
    """A red line that takes no room while it has nothing to say."""

    def __init__(self) -> None:
        super().__init__("")
        set_role(self, "error")
        self.setWordWrap(True)
        self.setVisible(False)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))


class BytesView(QWidget):
    """One byte string (key or value) with a rendering chooser."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.data: bytes | None = None
        self.mode = QComboBox()
        self.mode.addItems([m.value for m in ViewMode])
        self.mode.currentIndexChanged.connect(lambda _i: self._render())
        self.info = QLabel("")
        set_role(self.info, "muted")
        self.error = InlineError()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(mono_font())
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Field", "Value"])
        self.tree.setColumnWidth(0, 180)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.text)
        self.stack.addWidget(self.tree)
        top = QHBoxLayout()
        top.addWidget(QLabel(f"<b>{title}</b>"))
        top.addWidget(self.info, 1)
        top.addWidget(QLabel("Show as"))
        top.addWidget(self.mode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addWidget(self.stack, 1)

    @property
    def view_mode(self) -> ViewMode:
        return ViewMode(self.mode.currentText())

    def set_mode(self, mode: ViewMode) -> None:
        self.mode.setCurrentText(mode.value)

    def set_data(self, data: bytes | None) -> None:
        self.data = data
        self._render()

    def _render(self) -> None:
        data = self.data
        mode = self.view_mode
        effective = auto_mode(data) if mode is ViewMode.AUTO and data is not None else mode
        parts = ["null" if data is None else f"{len(data):,} bytes"]
        schema = confluent_schema_id(data)
        if schema is not None:
            parts.append(f"Confluent wire format, schema id {schema}")
        if mode is ViewMode.AUTO and data is not None:
            parts.append(f"shown as {effective.value}")
        ok, doc = (False, None)
        if effective is ViewMode.JSON and data is not None and len(data) <= TREE_MAX_BYTES:
            ok, doc = parse_json(data)
        if ok and isinstance(doc, dict | list):
            self.info.setText(" · ".join(parts))
            self.tree.clear()
            fill_tree(self.tree, doc)
            self.tree.expandToDepth(1)
            self.error.setText("")
            self.stack.setCurrentWidget(self.tree)
            return
        shown = data
        # numbers and JSON need every byte; the other renderings show a long value in part
        partial = effective not in (ViewMode.INT, ViewMode.LONG, ViewMode.DOUBLE, ViewMode.JSON)
        if data is not None and len(data) > SHOW_MAX_BYTES and partial:
            shown = data[:SHOW_MAX_BYTES]
            parts.append(f"showing the first {SHOW_MAX_BYTES // 1024} KiB (Copy takes all)")
        self.info.setText(" · ".join(parts))
        text, error = render(shown, effective)
        # Qt lays out wrapped long lines slowly (seconds for a few hundred KB on one line)
        longest = max((len(line) for line in text.split("\n")), default=0)
        self.text.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.NoWrap
            if longest > WRAP_MAX_CHARS
            else QPlainTextEdit.LineWrapMode.WidgetWidth
        )
        self.text.setPlainText(text)
        self.error.setText(error)
        self.stack.setCurrentWidget(self.text)

    def shown_text(self) -> str:
        """The bytes in the chosen rendering, in full (the tree is copied as pretty JSON)."""
        mode = self.view_mode
        data = self.data
        effective = auto_mode(data) if mode is ViewMode.AUTO and data is not None else mode
        return render(data, effective)[0]


EMPTY_TEXT = "Select a message to see its key, value and headers"


class MessageDetail(QWidget):
    """Detail pane for one record; with none selected, a line saying what it is for."""

    def __init__(self) -> None:
        super().__init__()
        self.record: Record | None = None
        self.time_format = TimeFormat.LOCAL
        # not an empty Value tab: "Value null" there reads as a record whose value is null
        self.placeholder = QLabel(EMPTY_TEXT)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        set_role(self.placeholder, "muted")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.key = BytesView("Key")
        self.value = BytesView("Value")
        self.header_mode = QComboBox()
        self.header_mode.addItems([m.value for m in ViewMode])
        self.header_mode.currentIndexChanged.connect(lambda _i: self._fill_headers())
        self.headers = QTableWidget(0, 2)
        self.headers.setHorizontalHeaderLabels(["Header", "Value"])
        self.headers.horizontalHeader().setStretchLastSection(True)
        self.headers.verticalHeader().setVisible(False)
        headers_page = QWidget()
        hl = QVBoxLayout(headers_page)
        hl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(QLabel("Show values as"))
        row.addWidget(self.header_mode)
        hl.addLayout(row)
        hl.addWidget(self.headers)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.value, "Value")
        self.tabs.addTab(self.key, "Key")
        self.tabs.addTab(headers_page, "Headers")
        self.copy_key = QPushButton("Copy key")
        self.copy_value = QPushButton("Copy value")
        self.copy_record = QPushButton("Copy record as JSON")
        self.copy_key.clicked.connect(lambda: self._copy(self.key.shown_text()))
        self.copy_value.clicked.connect(lambda: self._copy(self.value.shown_text()))
        self.copy_record.clicked.connect(self._copy_record)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_key)
        buttons.addWidget(self.copy_value)
        buttons.addWidget(self.copy_record)
        buttons.addStretch(1)
        shown = QWidget()
        layout = QVBoxLayout(shown)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(shown)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.pages)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for b in (self.copy_key, self.copy_value, self.copy_record):
            b.setEnabled(on)

    def set_record(self, rec: Record | None) -> None:
        self.record = rec
        self._set_enabled(rec is not None)
        if rec is None:
            self.summary.setText("")
            self.key.set_data(None)
            self.value.set_data(None)
            self.headers.setRowCount(0)
            self.pages.setCurrentWidget(self.placeholder)
            return
        self.pages.setCurrentIndex(1)
        self._summarise(rec)
        self.key.set_data(rec.key)
        self.value.set_data(rec.value)
        self._fill_headers()

    def set_time_format(self, fmt: TimeFormat) -> None:
        self.time_format = fmt
        if self.record is not None:
            self._summarise(self.record)

    def _summarise(self, rec: Record) -> None:
        stamp = format_timestamp(rec.timestamp, self.time_format)
        kind = f" ({rec.timestamp_type_name})" if rec.timestamp_type_name else ""
        self.summary.setText(
            f"<b>{rec.topic}</b> · partition {rec.partition} · offset {rec.offset} · "
            f"{stamp}{kind} · {rec.size:,} bytes · {len(rec.headers)} header(s)"
        )

    def _fill_headers(self) -> None:
        rec = self.record
        rows = rec.headers if rec else ()
        mode = ViewMode(self.header_mode.currentText())
        self.headers.setRowCount(len(rows))
        for i, (name, raw) in enumerate(rows):
            text, error = render(raw, mode)
            self.headers.setItem(i, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(error or text.replace("\n", " "))
            item.setFont(mono_font())
            self.headers.setItem(i, 1, item)

    def header_texts(self) -> list[tuple[str, str]]:
        def text(r: int, c: int) -> str:
            item = self.headers.item(r, c)
            return item.text() if item is not None else ""

        return [(text(r, 0), text(r, 1)) for r in range(self.headers.rowCount())]

    def record_json(self) -> str:
        if self.record is None:
            return ""
        return json.dumps(record_to_json(self.record), indent=2, ensure_ascii=False)

    def _copy_record(self) -> None:
        self._copy(self.record_json())

    @staticmethod
    def _copy(text: str) -> None:
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(text)
