"""Storage micro-benchmark: append and read throughput for producer-like 16 KiB batches.

Run: .venv/bin/python -m tests.unit.storage.microbench [MiB] [DIR]
Prints JSON lines (one per backend) with MB/s for append and for sequential 1 MiB reads.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from embedded_broker.storage import Log, LogConfig
from tests.unit.storage.batches import Rec, build_batch

RECORD = 1024
PER_BATCH = 16  # 16 x 1 KiB records ~ a producer's default 16 KiB batch


def bench(directory: Path | None, total_mib: int) -> dict[str, object]:
    batch = build_batch([Rec(None, b"x" * RECORD) for _ in range(PER_BATCH)])
    count = total_mib * 1024 * 1024 // len(batch)
    log = Log(directory, LogConfig())
    started = time.perf_counter()
    for _ in range(count):
        log.append(batch, now_ms=1)
    log.flush()
    append_s = time.perf_counter() - started
    volume = count * len(batch)
    started = time.perf_counter()
    offset = 0
    read = 0
    end = log.log_end_offset
    while offset < end:
        data = log.read(offset, 1 << 20)
        read += len(data)
        offset += (len(data) // len(batch)) * PER_BATCH
    read_s = time.perf_counter() - started
    log.close()
    assert read == volume
    return {
        "backend": "memory" if directory is None else "file",
        "mib": round(volume / 2**20),
        "append_mb_s": round(volume / 1e6 / append_s, 1),
        "append_records_s": round(count * PER_BATCH / append_s),
        "read_mb_s": round(volume / 1e6 / read_s, 1),
    }


def main() -> None:
    total_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    with tempfile.TemporaryDirectory(dir=sys.argv[2] if len(sys.argv) > 2 else None) as tmp:
        print(json.dumps(bench(Path(tmp) / "bench-0", total_mib)))
    print(json.dumps(bench(None, min(total_mib, 256))))


if __name__ == "__main__":
    main()
