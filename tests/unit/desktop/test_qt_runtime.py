"""The Qt binding the app ships with must not corrupt reference counts on signal emission.

PySide6 6.12.0 dropped a reference to True/False on every emit, so the app (and this suite)
aborted at exit with "Fatal Python error: bool_dealloc". pyproject.toml caps the version; this
test fails if a release with that bug is installed again.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot


class _Emitter(QObject):
    changed = Signal(bool)


def test_emitting_bools_keeps_their_reference_counts(qtbot: QtBot) -> None:
    emitter = _Emitter()
    emitter.changed.connect(lambda _value: None)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(200):
        emitter.changed.emit(True)
        emitter.changed.emit(False)
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert after[0] >= before[0] and after[1] >= before[1], (before, after)
