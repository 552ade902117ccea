"""The message browser's remembered choices (time format, hidden columns) in QSettings."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from desktop.domain.timefmt import TimeFormat
from desktop.settings.store import SettingsStore


class BrowserPrefs:
    def __init__(self, settings: QSettings | SettingsStore | None = None) -> None:
        self.store = settings if isinstance(settings, SettingsStore) else SettingsStore(settings)

    @property
    def time_format(self) -> TimeFormat:
        value = str(self.store.value("messages/time_format", TimeFormat.LOCAL.value))
        try:
            return TimeFormat(value)
        except ValueError:
            return TimeFormat.LOCAL

    @time_format.setter
    def time_format(self, fmt: TimeFormat) -> None:
        self.store.set_value("messages/time_format", fmt.value)

    @property
    def hidden_columns(self) -> frozenset[str]:
        """Titles of the result columns the user hid."""
        value = str(self.store.value("messages/hidden_columns", ""))
        return frozenset(name for name in value.split(",") if name)

    @hidden_columns.setter
    def hidden_columns(self, names: frozenset[str]) -> None:
        self.store.set_value("messages/hidden_columns", ",".join(sorted(names)))
