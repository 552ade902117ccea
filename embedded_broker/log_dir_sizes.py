"""Partition sizes and free space of the data directory, read from the files, for DescribeLogDirs.

Sizes come from the segment files' lengths (os.scandir + stat), as Kafka's log size is the sum
of its segments, so a partition that was never opened is measured without opening its log.
Blocking: run it on a worker thread.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from embedded_broker.storage.manager import partition_dir_name

SEGMENT_SUFFIX = ".log"


@dataclass(frozen=True, slots=True)
class LogDirUsage:
    sizes: dict[tuple[str, int], int]  # partitions whose directory exists
    total_bytes: int
    usable_bytes: int


def partition_size(directory: Path) -> int | None:
    """Bytes of the partition's segment files; None when its directory is gone."""
    try:
        with os.scandir(directory) as entries:
            return sum(
                entry.stat().st_size
                for entry in entries
                if entry.name.endswith(SEGMENT_SUFFIX) and entry.is_file()
            )
    except FileNotFoundError:
        return None


def measure(data_dir: Path, partitions: Iterable[tuple[str, int]]) -> LogDirUsage:
    """Sizes of ``partitions`` under ``data_dir`` and the filesystem's total and free bytes.

    Raises OSError when the data directory itself cannot be read (a failed disk)."""
    usage = shutil.disk_usage(data_dir)
    sizes: dict[tuple[str, int], int] = {}
    for key in partitions:
        size = partition_size(data_dir / partition_dir_name(*key))
        if size is not None:
            sizes[key] = size
    return LogDirUsage(sizes, usage.total, usage.free)
