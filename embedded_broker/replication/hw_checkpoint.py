"""The high-watermark checkpoint of a broker's data directory (Kafka's
replication-offset-checkpoint: version line, count line, ``<topic> <partition> <hw>`` lines)."""

from __future__ import annotations

import logging
from pathlib import Path

from embedded_broker.storage.index import write_atomically

log = logging.getLogger(__name__)

HW_CHECKPOINT_FILE = "replication-offset-checkpoint"


def read_checkpoint(data_dir: Path) -> dict[tuple[str, int], int]:
    path = data_dir / HW_CHECKPOINT_FILE
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        return {}
    marks: dict[tuple[str, int], int] = {}
    try:
        for line in lines[2 : 2 + int(lines[1])]:
            topic, partition, hw = line.rsplit(" ", 2)
            marks[(topic, int(partition))] = int(hw)
    except (IndexError, ValueError):
        log.warning(
            "The high-watermark checkpoint %s is damaged; high watermarks start from 0 and "
            "catch up with the leaders",
            path,
        )
        return {}
    return marks


def write_checkpoint(data_dir: Path, marks: dict[tuple[str, int], int]) -> None:
    body = "".join(f"{topic} {partition} {hw}\n" for (topic, partition), hw in marks.items())
    write_atomically(data_dir / HW_CHECKPOINT_FILE, f"0\n{len(marks)}\n{body}".encode())
