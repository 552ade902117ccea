"""The start screen's card for something Topicscope runs itself (the built-in broker, the local
cluster): title and state badge, a line on what it is, where it listens and keeps its data, a
row of buttons, and the last error."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QWidget

from desktop.views.widgets.common import Badge, hint, set_role


def _selectable(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class LocalCard(QFrame):
    def __init__(self, title: str, blurb: str, address_caption: str) -> None:
        super().__init__()
        self.setObjectName("localCard")  # its colours come from the theme's style sheet
        heading = QLabel(title)
        heading.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.badge = Badge("stopped", "info")
        self.address = _selectable("—")
        self.data_dir = _selectable("")
        self.data_dir.setWordWrap(True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        set_role(self.error, "error")
        self.buttons = QHBoxLayout()

        grid = QGridLayout(self)
        grid.setContentsMargins(20, 16, 20, 16)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.badge)
        top.addStretch(1)
        grid.addLayout(top, 0, 0, 1, 2)
        grid.addWidget(hint(blurb), 1, 0, 1, 2)
        grid.addWidget(QLabel(address_caption), 2, 0)
        grid.addWidget(self.address, 2, 1)
        grid.addWidget(QLabel("Data directory"), 3, 0)
        grid.addWidget(self.data_dir, 3, 1)
        grid.addLayout(self.buttons, 4, 0, 1, 2)
        grid.addWidget(self.error, 5, 0, 1, 2)
        grid.setColumnStretch(1, 1)

    def add_buttons(self, *widgets: QWidget | tuple[QWidget, int]) -> None:
        """Lay the buttons out left to right (a (widget, stretch) pair may take the spare
        width), then push them together on the left."""
        for item in widgets:
            widget, stretch = item if isinstance(item, tuple) else (item, 0)
            self.buttons.addWidget(widget, stretch)
        self.buttons.addStretch(1)
