"""Help > About: the versions Topicscope runs on and where it keeps its files (clickable)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from desktop.versions import Versions


def _link(path: Path | None) -> str:
    if path is None:
        return "—"
    url = QUrl.fromLocalFile(str(path)).toString()
    return f'<a href="{escape(url)}">{escape(str(path))}</a>'


class AboutDialog(QDialog):
    def __init__(
        self,
        versions: Versions,
        places: list[tuple[str, Path | None]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Topicscope")
        self.versions = versions
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>&nbsp;&nbsp;<b>{escape(value)}</b></td></tr>"
            for name, value in versions.rows()
        )
        where = "".join(
            f"<tr><td>{escape(name)}</td><td>&nbsp;&nbsp;{_link(path)}</td></tr>"
            for name, path in places
        )
        self.text = QLabel(
            f"<h3>Topicscope {escape(versions.topicscope)}</h3>"
            "<p>A desktop explorer for Apache Kafka.</p>"
            f"<table>{rows}</table><p><b>Files</b></p><table>{where}</table>"
        )
        self.text.setOpenExternalLinks(True)  # opens the folder in the file manager
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
