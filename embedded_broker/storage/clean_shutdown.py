"""The clean-shutdown marker: what a clean close knew about each segment, so opening reads none.

Kafka skips log recovery when its clean-shutdown file is present. Here the marker also records,
per segment, its size, next offset and roll reference, so the next open needs no batch header
either; a segment whose size differs from the record was changed after the close and is scanned.
An empty marker (written by earlier versions) means "clean" without the per-segment record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CLEAN_SHUTDOWN_FILE = "clean-shutdown"
_FORMAT = "topicscope-clean-shutdown 1"

# base offset -> (size in bytes, next offset, roll reference ms or None)
SegmentState = tuple[int, int, int | None]


@dataclass(frozen=True, slots=True)
class CleanState:
    """A marker that was found; ``segments`` is None for the old empty marker."""

    segments: dict[int, SegmentState] | None


def format_clean_shutdown(segments: list[tuple[int, int, int, int | None]]) -> bytes:
    """The marker's bytes for (base offset, size, next offset, roll reference) per segment."""
    lines = [_FORMAT]
    for base, size, next_offset, reference in segments:
        lines.append(f"{base} {size} {next_offset} {'-' if reference is None else reference}")
    return ("\n".join(lines) + "\n").encode()


def read_clean_shutdown(path: Path) -> CleanState | None:
    """The marker at ``path``; None if absent or unreadable (then the stop counts as unclean)."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return None
    if not text.strip():
        return CleanState(None)
    lines = text.splitlines()
    if lines[0] != _FORMAT:
        return None
    segments: dict[int, SegmentState] = {}
    try:
        for line in lines[1:]:
            base, size, next_offset, reference = line.split()
            segments[int(base)] = (
                int(size),
                int(next_offset),
                None if reference == "-" else int(reference),
            )
    except ValueError:
        return None
    return CleanState(segments)
