"""Journal frames (length, CRC-32C, JSON) and a scan that resyncs past damaged bytes."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import crc32c

HEADER = struct.Struct(">II")  # payload length, CRC-32C of the payload
MAX_RECORD = 16 * 1024 * 1024

Record = dict[str, Any]


class RecordTooLargeError(ValueError):
    pass


def encode_record(record: Record) -> bytes:
    payload = json.dumps(record, separators=(",", ":")).encode()
    if len(payload) > MAX_RECORD:
        # A load would take such a frame for damage: refuse to write it instead.
        raise RecordTooLargeError(f"a group state record of {len(payload)} bytes is too large")
    return HEADER.pack(len(payload), crc32c.crc32c(payload)) + payload


def _frame_at(data: bytes, pos: int) -> tuple[Record, int] | None:
    """The record of a frame starting at pos and the position after it, if the frame checks out."""
    if pos + HEADER.size > len(data):
        return None
    size, crc = HEADER.unpack_from(data, pos)
    start = pos + HEADER.size
    if size > MAX_RECORD or start + size > len(data) or data[start : start + 1] != b"{":
        return None
    payload = data[start : start + size]
    if crc32c.crc32c(payload) != crc:
        return None
    try:
        record = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    return record, start + size


def _next_frame(data: bytes, pos: int) -> int:
    """The first position from pos where an intact frame starts, or the end of data."""
    while True:
        # Every payload is a JSON object: only a "{" after a header can start a frame.
        brace = data.find(b"{", pos + HEADER.size)
        if brace < 0:
            return len(data)
        pos = brace - HEADER.size
        if _frame_at(data, pos) is not None:
            return pos
        pos += 1


@dataclass
class Scan:
    """What a journal image holds: its records, the byte ranges of intact frames and of damage."""

    records: list[Record] = field(default_factory=list)
    frames: list[tuple[int, int]] = field(default_factory=list)
    damaged: list[tuple[int, int]] = field(default_factory=list)


def scan(data: bytes) -> Scan:
    """Every intact frame of data; a damaged frame is skipped up to the next frame that checks
    out (its length fits and its CRC and JSON are valid), so one bad record loses only itself."""
    result = Scan()
    pos = 0
    while pos < len(data):
        found = _frame_at(data, pos)
        if found is not None:
            record, end = found
            result.records.append(record)
            result.frames.append((pos, end))
            pos = end
            continue
        resume = _next_frame(data, pos + 1)
        result.damaged.append((pos, resume))
        pos = resume
    return result
