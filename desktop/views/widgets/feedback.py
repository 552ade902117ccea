"""Messages that go away: a status line that clears itself after a while, and form errors that
clear as soon as the input they complain about becomes valid."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, SignalInstance
from PySide6.QtWidgets import QLabel, QWidget

STATUS_TIMEOUT_MS = 8_000  # long enough to read a sentence twice
ERROR_TIMEOUT_MS = 20_000  # errors stay longer: the user may need to act on them


class TransientLabel(QLabel):
    """A status line: `say()` shows a message that clears itself after its timeout (a new
    message restarts the clock). It takes no room while it has nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setWordWrap(True)
        self.setVisible(False)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear_message)

    def say(self, text: str, error: bool = False, timeout_ms: int | None = None) -> None:
        self.setProperty("role", "error" if error else "ok")
        style = self.style()
        style.unpolish(self)  # the role property picks the theme's colour
        style.polish(self)
        self.setText(text)
        self.setVisible(bool(text))
        ms = (
            timeout_ms
            if timeout_ms is not None
            else (ERROR_TIMEOUT_MS if error else STATUS_TIMEOUT_MS)
        )
        if text and ms > 0:
            self._timer.start(ms)
        else:
            self._timer.stop()

    def clear_message(self) -> None:
        self._timer.stop()
        self.setText("")
        self.setVisible(False)

    @property
    def pending(self) -> bool:
        """Whether a message is shown and will time out."""
        return self._timer.isActive()


def clear_when_valid(label: QLabel, is_valid: Callable[[], bool], *changes: SignalInstance) -> None:
    """Clear `label` (a form's error line) the moment `is_valid()` holds after any of `changes`
    fires: an error about an input should not outlive the mistake."""

    def check(*_args: object) -> None:
        if label.text() and is_valid():
            label.setText("")
            if isinstance(label, TransientLabel):
                label.clear_message()

    for signal in changes:
        signal.connect(check)
