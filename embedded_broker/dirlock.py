"""An exclusive lock on the data directory, so two brokers never write the same logs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

LOCK_FILE = ".lock"


class DataDirInUseError(RuntimeError):
    """Another broker process holds the data directory."""


class DataDirLock:
    """Holds an OS-level exclusive lock on ``<data_dir>/.lock`` until released.

    The OS drops the lock when the process dies, so a kill -9 never leaves a stale lock.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fh: IO[bytes] | None = None

    def acquire(self) -> None:
        fh = open(self.path, "a+b")  # noqa: SIM115 (kept open while locked)
        try:
            _lock(fh)
        except OSError:
            fh.close()
            raise DataDirInUseError(
                f"The data directory {self.path.parent} is in use by another broker. Stop that "
                "broker or choose another data directory."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()).encode())
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            try:
                _unlock(self._fh)
            finally:
                self._fh.close()
                self._fh = None


if sys.platform == "win32":
    import msvcrt

    def _lock(fh: IO[bytes]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(fh: IO[bytes]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
