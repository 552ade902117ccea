"""An editable topic chooser filled from cluster snapshots; cheap when the topics are unchanged."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox


class TopicCombo(QComboBox):
    def __init__(self, placeholder: str = "topic") -> None:
        super().__init__()
        self.setEditable(True)
        self.setPlaceholderText(placeholder)
        self.setMaxVisibleItems(20)
        self._names: tuple[str, ...] = ()

    def set_topics(self, names: Sequence[str]) -> None:
        """Offer `names` (in snapshot order); rebuilt only when they changed."""
        key = tuple(names)
        if key == self._names:
            return
        self._names = key
        current = self.currentText()
        self.blockSignals(True)
        self.clear()
        self.addItems(sorted(key))
        self.setCurrentText(current)
        self.blockSignals(False)
