"""Small settings files written off the GUI thread: the latest text per file wins."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from pathlib import Path

log = logging.getLogger(__name__)

# the writer thread ends after this long with nothing to write (the next write starts another)
IDLE_S = 2.0


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
        # what to write, by what it writes to: a newer write to the same place replaces it
        self._pending: dict[Hashable, tuple[Callable[[], None], str]] = {}
        self._busy = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def write(self, path: Path, text: str) -> None:
        self.run(path, lambda: write_atomically(path, text), str(path))

    def run(self, key: Hashable, action: Callable[[], None], where: str) -> None:
        """Run `action` on the writer thread, unless a later run with the same `key` comes
        first; what it raises is reported as "Could not save `where`: …"."""
        with self._cond:
            self._pending[key] = (action, where)
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
                if not self._cond.wait_for(lambda: bool(self._pending), IDLE_S):
                    self._thread = None  # under the lock: a write now starts a new thread
                    return
                _key, (action, where) = self._pending.popitem()
                self._busy = True
            try:
                action()
            except Exception as exc:  # reported, never the end of the thread
                self.last_error = f"Could not save {where}: {exc}"
                log.warning(self.last_error)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
