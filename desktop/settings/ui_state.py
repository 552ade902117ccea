"""UI state (geometry, refresh interval, filters) in QSettings, held in memory (store.py)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from desktop.settings.store import SettingsStore

DEFAULT_REFRESH_S = 5.0
DEFAULT_TIMEOUT_S = 10.0


class UiState:
    def __init__(self, settings: QSettings | SettingsStore | None = None) -> None:
        self.store = settings if isinstance(settings, SettingsStore) else SettingsStore(settings)

    @property
    def refresh_interval_s(self) -> float:
        value = self.store.value("refresh/interval_s", DEFAULT_REFRESH_S)
        try:
            return max(0.2, float(str(value)))
        except ValueError:
            return DEFAULT_REFRESH_S

    @refresh_interval_s.setter
    def refresh_interval_s(self, seconds: float) -> None:
        self.store.set_value("refresh/interval_s", float(seconds))

    @property
    def request_timeout_s(self) -> float:
        """How long one Kafka request may take before the app reports the cluster unreachable."""
        value = self.store.value("refresh/request_timeout_s", DEFAULT_TIMEOUT_S)
        try:
            return max(1.0, float(str(value)))
        except ValueError:
            return DEFAULT_TIMEOUT_S

    @request_timeout_s.setter
    def request_timeout_s(self, seconds: float) -> None:
        self.store.set_value("refresh/request_timeout_s", float(seconds))

    @property
    def hide_internal(self) -> bool:
        return str(self.store.value("topics/hide_internal", "true")).lower() == "true"

    @hide_internal.setter
    def hide_internal(self, hide: bool) -> None:
        self.store.set_value("topics/hide_internal", "true" if hide else "false")

    @property
    def theme(self) -> str:
        """ "light", "dark" or "system" (follow the desktop's colour scheme, the default)."""
        return str(self.store.value("view/theme", "system"))

    @theme.setter
    def theme(self, value: str) -> None:
        self.store.set_value("view/theme", value)

    @property
    def local_sign_in_user(self) -> str:
        """The user the local broker last required ("" = anyone may connect); the password
        is in the keyring."""
        return str(self.store.value("local/sign_in_user", ""))

    @local_sign_in_user.setter
    def local_sign_in_user(self, name: str) -> None:
        self.store.set_value("local/sign_in_user", name)

    @property
    def path(self) -> str:
        """Where these settings live (a file, or a registry key on Windows)."""
        return self.store.path

    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, geometry: QByteArray) -> None:
        self.store.set_value("window/geometry", geometry)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every change is on disk (at exit, in tests); False on timeout."""
        return self.store.flush(timeout_s)
