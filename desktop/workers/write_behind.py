"""Small settings files written off the GUI thread: the latest text per file wins."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class WriteBehind:
    """One thread that writes what the GUI thread handed over; a newer text for the same file
    replaces an unwritten older one. The GUI keeps the truth in memory, so it never waits on
    the disk (a slow or network home directory stalled it for the length of a write)."""

    def __init__(self) -> None:
        self._pending: dict[Path, str] = {}
        self._busy = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def write(self, path: Path, text: str) -> None:
        with self._cond:
            self._pending[path] = text
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="write-behind", daemon=True)
                self._thread.start()
            self._cond.notify()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every handed-over text is on disk (at exit); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending))
                path, text = self._pending.popitem()
                self._busy = True
            try:
                write_atomically(path, text)
            except OSError as exc:
                self.last_error = f"Could not save {path}: {exc}"
                log.warning(self.last_error)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
