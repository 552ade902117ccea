"""The light and dark Qt style sheets parse and style the same widgets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from tests.unit.packaging.helpers import RESOURCES

THEMES = RESOURCES / "themes"


def selectors(qss: str) -> set[str]:
    without_comments = re.sub(r"/\*.*?\*/", "", qss, flags=re.S)
    heads = re.findall(r"([^{}]+)\{", without_comments)
    return {part.strip() for head in heads for part in head.split(",")}


def test_both_themes_style_the_same_selectors() -> None:
    light = selectors((THEMES / "light.qss").read_text(encoding="utf-8"))
    dark = selectors((THEMES / "dark.qss").read_text(encoding="utf-8"))
    assert light == dark
    assert {"QWidget", "QTableView", "QHeaderView::section", "QPushButton"} <= light


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_theme_parses_in_qt(theme: str, qapp: QApplication, qtlog: Any) -> None:
    qss = (THEMES / f"{theme}.qss").read_text(encoding="utf-8")
    assert qss.count("{") == qss.count("}")
    widget = QWidget()
    layout = QVBoxLayout(widget)
    for child in (QLabel("x"), QPushButton("x"), QTableView()):
        layout.addWidget(child)
    widget.setStyleSheet(qss)
    widget.ensurePolished()
    for child in widget.findChildren(QWidget):
        child.ensurePolished()
    messages = [record.message for record in qtlog.records]
    assert not [m for m in messages if "parse" in m.lower()], messages
