"""Byte stores behind a segment: a file (pwrite/pread, page cache) or a bytearray (in-memory).

Durability: appends are plain pwrite calls with no fsync, so data is in the OS page cache as soon
as append returns. That survives the broker process being killed (kill -9), which is the failure
the broker promises to survive; it survives a power cut only once fsynced, which happens on close
and whenever the broker calls Log.flush / LogManager.flush_all (never on the append path, so a
segment roll does not stall produce requests behind an fsync of a whole segment).
"""

from __future__ import annotations

import errno
import os
import sys
from bisect import bisect_right
from pathlib import Path
from typing import NoReturn, Protocol

from embedded_broker.storage.api import StorageError


class WriteFailedError(StorageError):
    """An append failed (disk full, I/O error) and was cut back: the store is unchanged."""


class TornWriteError(StorageError):
    """An append failed and could not be cut back: the store's file ends in a torn write."""


class ByteStore(Protocol):
    @property
    def size(self) -> int: ...

    def append(self, data: bytes | bytearray | memoryview) -> None: ...

    def pread(self, length: int, position: int) -> bytes: ...

    def truncate(self, size: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def delete(self) -> None: ...


_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)

if sys.platform == "win32":  # no pread/pwrite: seek + read/write; callers hold the log's lock

    def _pread(fd: int, length: int, position: int) -> bytes:
        os.lseek(fd, position, os.SEEK_SET)
        return os.read(fd, length)

    def _pwrite(fd: int, data: memoryview, position: int) -> int:
        os.lseek(fd, position, os.SEEK_SET)
        return os.write(fd, data)

else:
    _pread = os.pread
    _pwrite = os.pwrite


class FileStore:
    """A segment's .log file; reads and writes carry explicit positions.

    The descriptor opens on first use and close() only releases it (the next use reopens), so
    a log can keep just its active and recently read segments open.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1  # opened on first read or write: a broker may have far more segments
        # than the process may hold descriptors
        try:
            self._size = os.stat(path).st_size
        except FileNotFoundError:
            os.close(os.open(path, _OPEN_FLAGS, 0o644))  # the file exists from the start
            self._size = 0
        self._dirty = False

    def _open(self) -> int:
        self._fd = os.open(self.path, _OPEN_FLAGS, 0o644)
        return self._fd

    @property
    def is_open(self) -> bool:
        return self._fd >= 0

    @property
    def size(self) -> int:
        return self._size

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at the end, all of it or nothing.

        A failed or short write (disk full, I/O error) is cut back to the previous end, so no
        torn batch is left for later appends to land behind, and raises WriteFailedError; if
        the cut-back fails too it raises TornWriteError (the file now ends in a torn batch).
        """
        start = at = self._size
        view = memoryview(data)
        end = start + len(view)
        try:
            fd = self._fd if self._fd >= 0 else self._open()
            while at < end:
                written = _pwrite(fd, view[at - start :], at)
                if written <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                at += written
        except OSError as exc:
            self._cut_back(start, exc, wrote=at > start)
        self._size = end
        self._dirty = True

    def _cut_back(self, size: int, cause: OSError, *, wrote: bool) -> NoReturn:
        reason = cause.strerror or str(cause)
        if wrote:  # pwrite either writes something or fails: only then is there a tear
            self._dirty = True
            try:
                os.ftruncate(self._fd if self._fd >= 0 else self._open(), size)
            except OSError as exc:
                raise TornWriteError(
                    f"writing to {self.path} failed ({reason}) and the partial write could "
                    f"not be removed ({exc.strerror or exc})"
                ) from cause
        raise WriteFailedError(
            f"writing to {self.path} failed ({reason}); nothing was stored"
        ) from cause

    def pread(self, length: int, position: int) -> bytes:
        length = min(length, self._size - position)
        if length <= 0:
            return b""
        fd = self._fd if self._fd >= 0 else self._open()
        data = _pread(fd, length, position)
        if len(data) < length:  # only on a file shrunk behind our back; keep whatever is there
            parts = [data]
            got = len(data)
            while got < length:
                more = _pread(fd, length - got, position + got)
                if not more:
                    break
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        return data

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd if self._fd >= 0 else self._open(), size)
        self._size = size
        self._dirty = True

    def flush(self) -> None:
        """fsync whatever was written (opening the file again if it was released)."""
        if self._dirty:
            os.fsync(self._fd if self._fd >= 0 else self._open())
            self._dirty = False

    def close(self) -> None:
        """Release the descriptor without syncing; the next read or write reopens it."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def delete(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.path.unlink(missing_ok=True)


_CHUNK = 1024 * 1024
_BIG_WRITE = 256 * 1024


class MemoryStore:
    """The in-memory backend's segment: appended chunks (no re-copying as it grows)."""

    def __init__(self) -> None:
        self._chunks: list[bytes | bytearray] = []
        self._starts: list[int] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def append(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        size = len(data)
        last = self._chunks[-1] if self._chunks else None
        if size < _BIG_WRITE and isinstance(last, bytearray) and len(last) + size <= _CHUNK:
            last += data  # small batches share chunks, so reads touch few of them
        elif size < _BIG_WRITE:
            self._chunks.append(bytearray(data))
            self._starts.append(self._size)
        else:
            # the log hands over a buffer it never touches again: keep it without copying
            self._chunks.append(data if isinstance(data, bytes | bytearray) else bytes(data))
            self._starts.append(self._size)
        self._size += size

    def pread(self, length: int, position: int) -> bytes:
        end = min(position + length, self._size)
        if position >= end:
            return b""
        i = bisect_right(self._starts, position) - 1
        parts: list[bytes] = []
        while position < end:
            chunk = self._chunks[i]
            offset = position - self._starts[i]
            take = min(len(chunk) - offset, end - position)
            with memoryview(chunk) as view:
                parts.append(view[offset : offset + take].tobytes())
            position += take
            i += 1
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def truncate(self, size: int) -> None:
        if size >= self._size:
            return
        i = bisect_right(self._starts, size) - 1
        if i < 0:
            self._chunks.clear()
            self._starts.clear()
        else:
            keep = size - self._starts[i]
            del self._chunks[i + 1 :]
            del self._starts[i + 1 :]
            if keep:
                self._chunks[i] = self._chunks[i][:keep]
            else:
                del self._chunks[i]
                del self._starts[i]
        self._size = size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def delete(self) -> None:
        self._chunks = []
        self._starts = []
        self._size = 0
