"""How the browser writes a record's timestamp: local time, UTC, ISO 8601 or epoch ms."""

from __future__ import annotations

import time
from enum import StrEnum


class TimeFormat(StrEnum):
    LOCAL = "Local time"
    UTC = "UTC"
    ISO = "ISO 8601 (UTC)"
    EPOCH = "Epoch ms"


def format_timestamp(ms: int, fmt: TimeFormat = TimeFormat.LOCAL) -> str:
    """`ms` since the epoch as the user chose; "" for Kafka's -1 (no timestamp)."""
    if ms < 0:
        return ""
    if fmt is TimeFormat.EPOCH:
        return str(ms)
    secs, rem = divmod(ms, 1000)
    if fmt is TimeFormat.LOCAL:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(secs)) + f".{rem:03d}"
    utc = time.gmtime(secs)
    if fmt is TimeFormat.ISO:
        return time.strftime("%Y-%m-%dT%H:%M:%S", utc) + f".{rem:03d}Z"
    return time.strftime("%Y-%m-%d %H:%M:%S", utc) + f".{rem:03d} UTC"
