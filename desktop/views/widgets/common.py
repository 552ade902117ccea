"""Shared pieces: tables with a sort/filter proxy, badges, stat cards, banners."""

from __future__ import annotations

import html

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QTableView,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.cluster import ReplicaState
from desktop.models.base import SORT_ROLE, RowTableModel

BADGE_STYLES = {
    "ok": ("#1e7b34", "#e3f4e6"),
    "warn": ("#8a5a00", "#fdf0c8"),
    "bad": ("#a11d12", "#f9d3d0"),
    "info": ("#1f4f8f", "#e3eefc"),
}
STATE_BADGE = {
    ReplicaState.HEALTHY: "ok",
    ReplicaState.UNDER_REPLICATED: "warn",
    ReplicaState.CRITICAL: "bad",
}


class FilterProxy(QSortFilterProxyModel):
    """The tables' sort/filter proxy, tuned for 10,000+ rows.

    It keeps the filter state (text, hide internal) but has the source model apply it, and
    delegates sorting to the source model, which sorts on precomputed keys: letting Qt do either
    would call back into Python once per row, or twice per comparison.
    """

    def __init__(self, filter_column: int = 0, internal_column: int | None = None) -> None:
        super().__init__()
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)
        self._filter_column = filter_column
        self._internal_column = internal_column
        self._hide_internal = False
        self._needle = ""

    def _source(self) -> RowTableModel[object] | None:
        model = self.sourceModel()
        return model if isinstance(model, RowTableModel) else None

    def set_filter_text(self, text: str) -> None:
        self._needle = text.lower()
        self._apply()

    def set_hide_internal(self, hide: bool) -> None:
        self._hide_internal = hide
        self._apply()

    def _apply(self) -> None:
        source = self._source()
        if source is None:
            return
        needle = self._needle
        name = source.columns[self._filter_column].value
        internal = (
            source.columns[self._internal_column].value
            if self._hide_internal and self._internal_column is not None
            else None
        )
        if not needle and internal is None:
            source.set_filter(None)
        elif internal is None:
            source.set_filter(lambda row: needle in str(name(row)).lower())
        else:
            hidden = internal
            source.set_filter(lambda row: not hidden(row) and needle in str(name(row)).lower())

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        super().setSourceModel(model)
        self._apply()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self._source()
        if source is not None:
            source.sort(column, order)


class HeaderFit(QObject):
    """Widens columns narrower than their header (title, padding and sort arrow) when the table
    is first shown: the widths screens choose are for the data, and "Partition▾" clipped."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(watched, QTableView):
            fit_headers(watched)
            watched.removeEventFilter(self)
        return False


def fit_headers(view: QTableView) -> None:
    header = view.horizontalHeader()
    stretched = header.stretchLastSection()
    last = header.count() - 1
    for col in range(header.count()):
        if header.isSectionHidden(col) or (stretched and col == last):
            continue
        if header.sectionResizeMode(col) != QHeaderView.ResizeMode.Interactive:
            continue
        wanted = header.sectionSizeHint(col)
        if header.sectionSize(col) < wanted:
            header.resizeSection(col, wanted)


def make_table(
    model: RowTableModel[object] | QSortFilterProxyModel, stretch: int | None = -1
) -> QTableView:
    """A read-only sortable table; `stretch` takes spare width (-1: last column, None: none)."""
    view = QTableView()
    view.setModel(model)
    view.setSortingEnabled(True)
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    view.setAlternatingRowColors(False)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.setShowGrid(False)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultSectionSize(110)
    view.installEventFilter(HeaderFit(view))
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if stretch is None:
        header.setStretchLastSection(False)
    elif stretch >= 0:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    else:
        header.setStretchLastSection(True)
    return view


class Badge(QLabel):
    def __init__(self, text: str = "", kind: str = "info") -> None:
        super().__init__(text)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.set_kind(kind)

    def set_kind(self, kind: str) -> None:
        fg, bg = BADGE_STYLES.get(kind, BADGE_STYLES["info"])
        self.kind = kind
        sheet = (
            f"QLabel {{ color: {fg}; background: {bg}; border-radius: 9px;"
            " padding: 2px 10px; font-weight: 600; }"
        )
        if sheet != self.styleSheet():  # every refresh sets the kind: restyle only a change
            self.setStyleSheet(sheet)


class StatCard(QFrame):
    """A titled number, optionally tinted by a health kind."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setObjectName("statCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        self.title = QLabel(title)
        self.title.setStyleSheet("font-size: 11px;")
        set_role(self.title, "muted")
        self.value = QLabel("—")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        self.set_kind(None)

    def set_value(self, text: str, kind: str | None = None) -> None:
        self.value.setText(text)
        self.set_kind(kind)

    def set_kind(self, kind: str | None) -> None:
        self.kind = kind
        # the application's palette: the card's own one carries its style-sheet background
        pal = QApplication.palette()
        if kind in ("warn", "bad"):  # tinted cards keep dark text on their light tint
            border, bg = BADGE_STYLES[kind]
            text = "#1d2733"
        else:  # the theme's own colours, so the card suits light and dark alike
            border = pal.color(QPalette.ColorRole.Mid).name()
            bg = pal.color(QPalette.ColorRole.Base).name()
            text = pal.color(QPalette.ColorRole.Text).name()
        sheet = (
            f"QFrame#statCard {{ background: {bg}; border: 1px solid {border};"
            " border-radius: 8px; }"
        )
        if sheet != self.styleSheet():  # unchanged: no restyle (and no palette-change loop)
            self.setStyleSheet(sheet)
        value_sheet = f"font-size: 22px; font-weight: 600; color: {text};"
        if value_sheet != self.value.styleSheet():
            self.value.setStyleSheet(value_sheet)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self.set_kind(self.kind)


class Banner(QLabel):
    """A full-width message strip (hidden when there is nothing to say)."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setVisible(False)

    def show_message(self, text: str, kind: str = "bad") -> None:
        fg, bg = BADGE_STYLES[kind]
        self.setStyleSheet(
            f"QLabel {{ color: {fg}; background: {bg}; padding: 8px 12px;"
            f" border: 1px solid {fg}; border-radius: 4px; }}"
        )
        self.setText(text)
        self.setVisible(True)


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-size: 15px; font-weight: 600; margin-top: 4px;")  # theme's colour
    return label


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a frameless scroll area that scrolls vertically only when it must."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return area


def set_role(widget: QWidget, role: str) -> None:
    """Colour a label by its role (muted, error, ok, warn, title): the theme's style sheet picks
    the colour, so the text reads in light and dark alike (a fixed colour reads in one)."""
    if widget.property("role") == role:
        return
    widget.setProperty("role", role)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    set_role(label, "muted")
    return label


class InfoButton(QToolButton):
    """A small "ⓘ" button whose explanation shows on hover or click, instead of a paragraph
    that takes table space for good."""

    def __init__(self, text: str, explanation: str) -> None:
        super().__init__()
        self.setText(text)
        self.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setAutoRaise(True)
        # rich text, so the tooltip wraps instead of running across the screen
        self.explanation = explanation
        self.setToolTip(f"<p style='white-space: normal'>{html.escape(explanation)}</p>")
        self.clicked.connect(self._show)

    def _show(self) -> None:
        QToolTip.showText(self.mapToGlobal(self.rect().bottomLeft()), self.toolTip(), self)


def spacer_widget() -> QWidget:
    w = QWidget()
    return w
