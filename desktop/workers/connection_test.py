"""Run a "Test connection" off the GUI thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from desktop.domain.cluster import ConnectionResult
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.connection import test_connection


class ConnectionTester(QObject):
    finished = Signal(object)  # ConnectionResult

    def start(self, profile: ClusterProfile, creds: Credentials) -> None:
        threading.Thread(
            target=self._run, args=(profile, creds), name="connection-test", daemon=True
        ).start()

    def _run(self, profile: ClusterProfile, creds: Credentials) -> None:
        try:
            result = test_connection(profile, creds)
        except BaseException as exc:
            result = ConnectionResult(False, f"Unexpected error: {exc}", cause="error")
        self.finished.emit(result)
