"""The log cleaner's file protocol, and how opening a partition finishes a cleaning a crash cut.

A cleaned segment is written as ``<base>.log.cleaned`` (with ``.index.cleaned`` and
``.timeindex.cleaned``) and fsynced; renamed to ``.swap`` (the commit point: from here the
cleaned data wins); then, under the log's lock, the segments it replaces are renamed to
``.deleted`` and the ``.swap`` files to their final names; the ``.deleted`` files go last.
After a crash, as in Kafka's log loader: ``.cleaned`` files are deleted (the old segments are
whole), a ``.swap`` segment is completed (the segments whose offsets it covers are deleted and it
takes its final name) and ``.deleted`` files are removed.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

from embedded_broker.storage.index import fsync_path

log = logging.getLogger(__name__)

CLEANED = ".cleaned"
SWAP = ".swap"
DELETED = ".deleted"
SEGMENT_SUFFIXES = (".log", ".index", ".timeindex")

_SPAN = struct.Struct(">qi11xi")  # baseOffset, batchLength, lastOffsetDelta
_LOG_OVERHEAD = 12


def segment_files(directory: Path, base: int, suffix: str = "") -> list[Path]:
    """The .log, .index and .timeindex paths of segment ``base``, with ``suffix`` appended."""
    return [directory / f"{base:020d}{kind}{suffix}" for kind in SEGMENT_SUFFIXES]


def next_offset_of(path: Path) -> int | None:
    """One past the last offset in a segment file (read from batch headers); None if empty."""
    last = None
    with open(path, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        position = 0
        while position + _SPAN.size <= size:
            source.seek(position)
            base, length, last_delta = _SPAN.unpack(source.read(_SPAN.size))
            if length <= 0 or position + length + _LOG_OVERHEAD > size:
                break
            last = base + last_delta
            position += length + _LOG_OVERHEAD
    return None if last is None else last + 1


def finish_interrupted_cleaning(directory: Path) -> None:
    """Bring a partition directory back to whole segments after a crash during cleaning."""
    changed = False
    for leftover in (*directory.glob(f"*{CLEANED}"), *directory.glob(f"*{DELETED}")):
        leftover.unlink(missing_ok=True)
        changed = True
    for swap in sorted(directory.glob(f"*.log{SWAP}")):
        stem = swap.name.split(".", 1)[0]
        if not stem.isdigit():
            continue
        base = int(stem)
        end = next_offset_of(swap)
        if end is not None:
            for old in directory.glob("*.log"):
                old_base = old.stem
                if old_base.isdigit() and base <= int(old_base) < end:
                    for path in segment_files(directory, int(old_base)):
                        path.unlink(missing_ok=True)
        for path in segment_files(directory, base):
            swapped = path.with_name(path.name + SWAP)
            if swapped.exists():
                os.replace(swapped, path)
            elif path.suffix != ".log":
                path.unlink(missing_ok=True)  # stale indexes of the old segment: rebuilt
        log.warning(
            "Finished the cleaning of segment %s in %s that a stop interrupted", stem, directory
        )
        changed = True
    if changed:
        fsync_path(directory, directory=True)
