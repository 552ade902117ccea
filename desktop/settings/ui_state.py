"""UI state (geometry, refresh interval, filters) in QSettings."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

DEFAULT_REFRESH_S = 5.0
DEFAULT_TIMEOUT_S = 10.0


class UiState:
    def __init__(self, settings: QSettings | None = None) -> None:
        self._s = settings or QSettings("Topicscope", "Topicscope")

    @property
    def refresh_interval_s(self) -> float:
        value = self._s.value("refresh/interval_s", DEFAULT_REFRESH_S)
        try:
            return max(0.2, float(str(value)))
        except ValueError:
            return DEFAULT_REFRESH_S

    @refresh_interval_s.setter
    def refresh_interval_s(self, seconds: float) -> None:
        self._s.setValue("refresh/interval_s", float(seconds))

    @property
    def request_timeout_s(self) -> float:
        """How long one Kafka request may take before the app reports the cluster unreachable."""
        value = self._s.value("refresh/request_timeout_s", DEFAULT_TIMEOUT_S)
        try:
            return max(1.0, float(str(value)))
        except ValueError:
            return DEFAULT_TIMEOUT_S

    @request_timeout_s.setter
    def request_timeout_s(self, seconds: float) -> None:
        self._s.setValue("refresh/request_timeout_s", float(seconds))

    @property
    def hide_internal(self) -> bool:
        return str(self._s.value("topics/hide_internal", "true")).lower() == "true"

    @hide_internal.setter
    def hide_internal(self, hide: bool) -> None:
        self._s.setValue("topics/hide_internal", "true" if hide else "false")

    @property
    def theme(self) -> str:
        """ "light", "dark" or "system" (follow the desktop's colour scheme, the default)."""
        return str(self._s.value("view/theme", "system"))

    @theme.setter
    def theme(self, value: str) -> None:
        self._s.setValue("view/theme", value)

    @property
    def local_sign_in_user(self) -> str:
        """The user the local broker last required ("" = anyone may connect); the password
        is in the keyring."""
        return str(self._s.value("local/sign_in_user", ""))

    @local_sign_in_user.setter
    def local_sign_in_user(self, name: str) -> None:
        self._s.setValue("local/sign_in_user", name)

    @property
    def path(self) -> str:
        """Where these settings live (a file, or a registry key on Windows)."""
        return self._s.fileName()

    def geometry(self) -> QByteArray | None:
        value = self._s.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, geometry: QByteArray) -> None:
        self._s.setValue("window/geometry", geometry)
