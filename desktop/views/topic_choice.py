"""An editable topic chooser filled from cluster snapshots; cheap when the topics are unchanged
and while it is not on screen."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox


class TopicCombo(QComboBox):
    def __init__(self, placeholder: str = "topic") -> None:
        super().__init__()
        self.setEditable(True)
        self.setPlaceholderText(placeholder)
        self.setMaxVisibleItems(20)
        self._names: tuple[str, ...] = ()
        self._shown: tuple[str, ...] = ()

    def set_topics(self, names: Sequence[str]) -> None:
        """Offer `names`; the list is rebuilt only when they changed, and only once the combo
        is on screen (10,000 topics in three hidden combos cost a refresh tens of ms)."""
        self._names = tuple(names)
        if self.isVisible():
            self._rebuild()

    def topics(self) -> tuple[str, ...]:
        return self._names

    def showEvent(self, event: QShowEvent) -> None:
        self._rebuild()
        super().showEvent(event)

    def _rebuild(self) -> None:
        if self._shown == self._names:
            return
        self._shown = self._names
        current = self.currentText()
        self.blockSignals(True)
        self.clear()
        self.addItems(sorted(self._names))
        self.setCurrentText(current)
        self.blockSignals(False)
