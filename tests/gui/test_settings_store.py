"""UI settings live in memory on the GUI thread; the disk is written on the write-behind thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop.context import AppContext
from desktop.settings.profiles import ProfileStore
from desktop.settings.secrets import SecretStore
from desktop.settings.ui_state import UiState
from desktop.views.main_window import MainWindow
from desktop.views.theme import Theme
from desktop.workers.local_broker import LocalBroker

HANG_S = 20.0  # long enough that a GUI thread waiting on it is plain to see under any load


class HungDisk(QSettings):
    """Settings on a disk that hangs until the test releases it; records who wrote."""

    release = threading.Event()
    writers: list[threading.Thread] = []

    def setValue(self, key: str, value: Any) -> None:
        HungDisk.writers.append(threading.current_thread())
        HungDisk.release.wait(HANG_S)
        super().setValue(key, value)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    """The conftest's context, its UI settings on the hung disk (released at the end)."""
    HungDisk.release.clear()
    HungDisk.writers.clear()
    ui = UiState(HungDisk(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    ui.refresh_interval_s = 1.0
    yield AppContext(
        profiles=ProfileStore(tmp_path / "config"),
        secrets=SecretStore(),
        ui=ui,
        local=LocalBroker(port=0, data_dir=tmp_path / "broker-data"),
    )
    HungDisk.release.set()


def test_choosing_a_theme_returns_while_the_settings_disk_hangs(
    qtbot: QtBot, window: MainWindow, ctx: AppContext, tmp_path: Path
) -> None:
    started = time.monotonic()
    window.menu.themes[Theme.DARK].trigger()
    assert time.monotonic() - started < HANG_S / 2  # the GUI never waited on the disk
    assert ctx.ui.theme == "dark"  # read back at once, from memory

    HungDisk.release.set()
    on_disk = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    qtbot.waitUntil(lambda: (on_disk.sync(), on_disk.value("view/theme"))[1] == "dark")
    assert HungDisk.writers
    assert all(t is not threading.main_thread() for t in HungDisk.writers)
