"""Size-prefixed framing: feed bytes in, take complete frames out (no I/O here)."""

from __future__ import annotations

import struct

from .errors import FrameTooLargeError

_SIZE = struct.Struct(">i")

DEFAULT_MAX_FRAME = 104_857_600


class FrameDecoder:
    """Accumulates received bytes and yields complete request frames (without the size prefix).

    Memory stays bounded: a frame is only buffered when its declared size is within
    ``max_frame_bytes``; anything larger (or a negative size) raises FrameTooLargeError.
    """

    __slots__ = ("_buf", "_max", "_pos")

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._max = max_frame_bytes

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def pending_size(self) -> int | None:
        """Size, with its prefix, of the frame being received once its prefix has arrived."""
        if len(self._buf) - self._pos < 4:
            return None
        (size,) = _SIZE.unpack_from(self._buf, self._pos)
        return 4 + int(size)

    def next_frame(self) -> bytes | None:
        """Return the next complete frame, or None when more bytes are needed."""
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < 4:
            self._compact()
            return None
        (size,) = _SIZE.unpack_from(buf, pos)
        if size < 0 or size > self._max:
            raise FrameTooLargeError(
                f"request size {size} is outside 0..{self._max} (socket.request.max.bytes)"
            )
        end = pos + 4 + size
        if len(buf) < end:
            self._compact()
            return None
        frame = bytes(buf[pos + 4 : end])
        self._pos = end
        if self._pos == len(buf):
            self._buf = bytearray()
            self._pos = 0
        return frame

    def frames(self) -> list[bytes]:
        """All complete frames currently buffered."""
        out: list[bytes] = []
        while (frame := self.next_frame()) is not None:
            out.append(frame)
        return out

    def _compact(self) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0


def frame(payload: bytes) -> bytes:
    """Prefix a payload with its int32 size."""
    return _SIZE.pack(len(payload)) + payload
