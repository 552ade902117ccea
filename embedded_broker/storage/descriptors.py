"""How many partition logs may hold open files at once, from the process's descriptor limit."""

from __future__ import annotations

import sys

# A log holds its active segment's file plus at most two recently read segments' files.
FILES_PER_LOG = 3
# Left for client sockets, the listening socket, journals, checkpoints written by worker
# threads and the interpreter's own files: half the limit, but never more than this.
MAX_RESERVED = 2048
MIN_OPEN_LOGS = 8
_UNLIMITED_LOGS = 100_000


# os.open on Windows goes through the C runtime, whose table holds 512 files by default
WINDOWS_CRT_FILES = 512


def descriptor_limit() -> int | None:
    """The soft RLIMIT_NOFILE (the C runtime's table on Windows); None when unlimited."""
    if sys.platform == "win32":
        return WINDOWS_CRT_FILES
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def open_log_budget(limit: int | None = None) -> int:
    """The most partition logs that may keep files open, leaving headroom under ``limit``."""
    limit = descriptor_limit() if limit is None else limit
    if limit is None:
        return _UNLIMITED_LOGS
    reserved = min(limit // 2, MAX_RESERVED)
    return max(MIN_OPEN_LOGS, (limit - reserved) // FILES_PER_LOG)
