"""SCRAM credentials kept durably in the data directory (salted keys only, written atomically)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from pathlib import Path

from embedded_broker.damaged import DamagedFileError

from .scram import MECHANISM_CODES, ScramCredential

FILE_NAME = "scram-credentials.json"
EXTENSION_KEY = "scram_credentials"  # BrokerState.extensions key of the broker's store
FORMAT_VERSION = 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class ScramCredentialStore:
    """user -> mechanism -> credential; ``save`` writes a snapshot off the event loop."""

    def __init__(self, data_dir: Path | None) -> None:
        self.path = None if data_dir is None else data_dir / FILE_NAME
        self._users: dict[str, dict[str, ScramCredential]] = {}
        self._write_lock = threading.Lock()
        self._generation = 0  # bumped by every change, so an older snapshot never wins
        self._written = 0
        if self.path is not None and self.path.exists():
            self._load(self.path)

    def _load(self, path: Path) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            users = doc["users"]
            for user, mechanisms in users.items():
                for mechanism, entry in mechanisms.items():
                    if mechanism not in MECHANISM_CODES:
                        raise ValueError(f"unknown mechanism {mechanism}")
                    self._users.setdefault(user, {})[mechanism] = ScramCredential(
                        salt=base64.b64decode(entry["salt"]),
                        stored_key=base64.b64decode(entry["stored_key"]),
                        server_key=base64.b64decode(entry["server_key"]),
                        iterations=int(entry["iterations"]),
                    )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DamagedFileError(
                path,
                f"The SCRAM credentials file {path} cannot be read ({exc}). Restore it from a "
                "backup, or delete it and add the users again.",
            ) from None

    def get(self, user: str, mechanism: str) -> ScramCredential | None:
        return self._users.get(user, {}).get(mechanism)

    def users(self) -> dict[str, dict[str, ScramCredential]]:
        return {user: dict(mechs) for user, mechs in self._users.items()}

    def replace_all(self, users: dict[str, dict[str, ScramCredential]]) -> None:
        """Hold exactly `users` (a cluster broker follows the controller's metadata log)."""
        wanted = {user: dict(mechs) for user, mechs in users.items() if mechs}
        if wanted != self._users:
            self._users = wanted
            self._generation += 1

    def put(self, user: str, mechanism: str, credential: ScramCredential) -> None:
        self._users.setdefault(user, {})[mechanism] = credential
        self._generation += 1

    def delete(self, user: str, mechanism: str) -> bool:
        mechanisms = self._users.get(user)
        if mechanisms is None or mechanism not in mechanisms:
            return False
        del mechanisms[mechanism]
        if not mechanisms:
            del self._users[user]
        self._generation += 1
        return True

    async def persist(self) -> None:
        """Write the current credentials to disk on a worker thread."""
        generation, data = self._generation, self.snapshot()
        await asyncio.to_thread(self.write, data, generation)

    def snapshot(self) -> bytes:
        doc = {
            "version": FORMAT_VERSION,
            "users": {
                user: {
                    mech: {
                        "salt": _b64(c.salt),
                        "stored_key": _b64(c.stored_key),
                        "server_key": _b64(c.server_key),
                        "iterations": c.iterations,
                    }
                    for mech, c in sorted(mechs.items())
                }
                for user, mechs in sorted(self._users.items())
            },
        }
        return json.dumps(doc, indent=1).encode()

    def write(self, snapshot: bytes, generation: int | None = None) -> None:
        """Replace the file with ``snapshot`` atomically, readable by the owner only (blocking)."""
        if self.path is None:
            return
        with self._write_lock:
            if generation is not None:
                if generation <= self._written:
                    return  # a newer snapshot is already on disk
                self._written = generation
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, snapshot)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            if hasattr(os, "O_DIRECTORY"):
                dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
