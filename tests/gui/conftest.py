"""GUI test fixtures: an isolated AppContext and a shown main window driven through qtbot."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop.context import AppContext
from desktop.settings.profiles import ProfileStore
from desktop.settings.secrets import SecretStore
from desktop.settings.ui_state import UiState
from desktop.views.cluster_view import ClusterView
from desktop.views.main_window import MainWindow
from desktop.workers.local_broker import LocalBroker

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WAIT_MS = 30_000


@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    ui = UiState(settings)
    ui.refresh_interval_s = 1.0
    return AppContext(
        profiles=ProfileStore(tmp_path / "config"),
        secrets=SecretStore(),
        ui=ui,
        local=LocalBroker(port=0, data_dir=tmp_path / "broker-data"),
    )


@pytest.fixture
def window(qtbot: QtBot, ctx: AppContext) -> Iterator[MainWindow]:
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.resize(1280, 820)
    win.show()
    qtbot.waitExposed(win)
    yield win
    stopping = win.shutdown()
    if stopping is not None:  # the built-in broker stops off the GUI thread
        qtbot.waitUntil(lambda: stopping.ended, timeout=WAIT_MS)


def wait_snapshot(qtbot: QtBot, view: ClusterView, check: Callable[[], bool] | None = None) -> None:
    """Wait until the view has data (and `check` holds on a later refresh)."""
    qtbot.waitUntil(lambda: view.session.snapshot is not None, timeout=WAIT_MS)
    if check is not None:
        qtbot.waitUntil(check, timeout=WAIT_MS)
