"""QSettings held in memory: read once when built, written on the write-behind thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings

from desktop.workers.write_behind import WriteBehind

ORGANIZATION = APPLICATION = "Topicscope"


class SettingsStore:
    """Reads answer from memory; a write changes memory at once and reaches the disk (or the
    Windows registry) on the write-behind thread, through a QSettings of its own made there.
    QSettings syncs from the event loop of the thread it lives in: on the GUI thread that
    waited on a slow or network home directory, and a messages tab opened read the file."""

    def __init__(self, settings: QSettings | None = None, files: WriteBehind | None = None) -> None:
        source = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)
        self.path = source.fileName()
        fmt = source.format()
        kind = type(source)  # the same kind of settings, so a test can stand in for the disk
        self._open: Callable[[], QSettings] = (
            (lambda: kind(ORGANIZATION, APPLICATION))
            if settings is None
            else (lambda: kind(self.path, fmt))
        )
        self._values: dict[str, Any] = {key: source.value(key) for key in source.allKeys()}
        self.files = files or WriteBehind()

    def value(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self._values[key] = value
        self.files.run((self.path, key), lambda: self._write(key, value), self.path)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every write is on disk (at exit, in tests); False on timeout."""
        return self.files.flush(timeout_s)

    def _write(self, key: str, value: Any) -> None:
        # made, used and deleted on the writer thread, which ends when idle: a QSettings kept
        # for later would belong to a thread that is gone
        writer = self._open()
        writer.setValue(key, value)
        writer.sync()
        status = writer.status()
        if status != QSettings.Status.NoError:
            raise OSError(f"settings not written ({status.name})")
