"""Passwords through the OS keyring; an in-memory fallback only when the user agrees."""

from __future__ import annotations

import contextlib

import keyring
import keyring.errors
from keyring.backends import fail

from desktop.domain.profile import Credentials

SERVICE = "topicscope"


class SecretStore:
    """Passwords per profile. Nothing is ever written to the profiles file.

    Every keyring call may wait on D-Bus: the app makes them in jobs, never on the GUI thread.
    """

    def __init__(self) -> None:
        self._session: dict[str, Credentials] = {}
        self._checked: tuple[object, bool] | None = None  # (backend, available) last probed

    @property
    def keyring_available(self) -> bool:
        """Probe the backend (its priority check may call D-Bus): in a job."""
        try:
            backend = keyring.get_keyring()
        except Exception:
            return False
        available = not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 1) > 0
        self._checked = (backend, available)
        return available

    def known_available(self) -> bool | None:
        """The last probe's answer if the backend is unchanged, else None (probe in a job)."""
        checked = self._checked
        if checked is None or keyring.core._keyring_backend is not checked[0]:
            return None
        return checked[1]

    def remember(self, profile_name: str, creds: Credentials) -> None:
        """Keep `creds` in memory now (no keyring call): connecting uses them at once."""
        self._session[profile_name] = creds

    @property
    def backend_name(self) -> str:
        try:
            return type(keyring.get_keyring()).__name__
        except Exception:
            return "none"

    def load(self, profile_name: str) -> Credentials:
        if profile_name in self._session:
            return self._session[profile_name]
        if not self.keyring_available:
            return Credentials()
        try:
            pw = keyring.get_password(SERVICE, f"{profile_name}:password") or ""
            key_pw = keyring.get_password(SERVICE, f"{profile_name}:key-password") or ""
        except keyring.errors.KeyringError:
            return Credentials()
        return Credentials(pw, key_pw)

    def save(self, profile_name: str, creds: Credentials, *, session_only: bool) -> None:
        """Store `creds`; session_only keeps them in memory (when there is no keyring)."""
        self._session[profile_name] = creds
        if session_only or not self.keyring_available:
            return
        for suffix, value in (("password", creds.password), ("key-password", creds.key_password)):
            account = f"{profile_name}:{suffix}"
            try:
                if value:
                    keyring.set_password(SERVICE, account, value)
                else:
                    keyring.delete_password(SERVICE, account)
            except keyring.errors.PasswordDeleteError:
                pass

    def forget(self, profile_name: str) -> None:
        self._session.pop(profile_name, None)
        if self.keyring_available:
            for suffix in ("password", "key-password"):
                with contextlib.suppress(keyring.errors.KeyringError):
                    keyring.delete_password(SERVICE, f"{profile_name}:{suffix}")
