"""Reopening file-backed logs: clean restarts, and recovery after kill -9 or damaged files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from embedded_broker.protocol.record_batch import iter_batches, parse_header
from embedded_broker.storage import Log, LogConfig
from embedded_broker.storage.log import CLEAN_SHUTDOWN_FILE
from tests.unit.storage.batches import simple_batch
from tests.unit.storage.test_log import read_all

NOW = 1_700_000_000_000
CONFIG = LogConfig(segment_bytes=1500, index_interval_bytes=200)


def fill(directory: Path, batches: int = 40, config: LogConfig = CONFIG) -> list[tuple[int, int]]:
    log = Log(directory, config)
    spans = []
    for i in range(batches):
        info = log.append(
            simple_batch(1 + i % 4, value_size=20, base_timestamp=NOW + 100 * i), now_ms=NOW
        )
        spans.append((info.base_offset, info.last_offset))
    log.close()
    return spans


def mark_unclean(directory: Path) -> None:
    (directory / CLEAN_SHUTDOWN_FILE).unlink()


def active_log_file(directory: Path) -> Path:
    return sorted(directory.glob("*.log"))[-1]


def spans_of(log: Log) -> list[tuple[int, int]]:
    return [(h.base_offset, h.last_offset) for h in read_all(log)]


def test_clean_reopen_keeps_everything(tmp_path: Path) -> None:
    spans = fill(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "00000000000000000000.log" in names
    assert "00000000000000000000.index" in names
    assert "00000000000000000000.timeindex" in names
    log = Log(tmp_path, CONFIG)
    try:
        assert not (tmp_path / CLEAN_SHUTDOWN_FILE).exists()
        assert spans_of(log) == spans
        assert log.log_end_offset == spans[-1][1] + 1
        assert log.offset_for_timestamp(NOW + 100 * 17) == (spans[17][0], NOW + 1700)
        assert log.max_timestamp() == (spans[-1][1], NOW + 3900 + spans[-1][1] - spans[-1][0])
        info = log.append(simple_batch(2), now_ms=NOW)
        assert info.base_offset == spans[-1][1] + 1
    finally:
        log.close()


def test_log_start_offset_survives_a_restart(tmp_path: Path) -> None:
    log = Log(tmp_path, CONFIG)
    for _ in range(30):
        log.append(simple_batch(3, value_size=20), now_ms=NOW)
    log.delete_records_before(40)
    log.close()
    reopened = Log(tmp_path, CONFIG)
    try:
        assert reopened.log_start_offset == 40
        assert reopened.log_end_offset == 90
        assert parse_header(reopened.read(40, 10)).base_offset == 39
    finally:
        reopened.close()


def test_unclean_reopen_rescans_the_active_segment(tmp_path: Path) -> None:
    spans = fill(tmp_path)
    mark_unclean(tmp_path)
    for index in tmp_path.glob("*index"):
        if index.stem == active_log_file(tmp_path).stem:
            index.write_bytes(b"\x01\x02\x03")  # stale or torn: must be ignored
    log = Log(tmp_path, CONFIG)
    try:
        assert spans_of(log) == spans
        for base, last in spans:
            assert parse_header(log.read(last, 1)).base_offset == base
    finally:
        log.close()


@pytest.mark.parametrize("damage", ["truncate_mid_batch", "garbage_tail", "crc_byte", "header"])
def test_recovery_keeps_every_valid_batch_but_the_damaged_one(tmp_path: Path, damage: str) -> None:
    spans = fill(tmp_path)
    mark_unclean(tmp_path)
    path = active_log_file(tmp_path)
    data = bytearray(path.read_bytes())
    headers = list(iter_batches(data))
    assert len(headers) >= 3
    victim = headers[-2]  # damage the second-to-last batch of the active segment
    if damage == "truncate_mid_batch":
        data = data[: victim.position + victim.size // 2]
    elif damage == "garbage_tail":
        victim = None  # type: ignore[assignment]
        data += b"\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x01\x00garbage" * 3
    elif damage == "crc_byte":
        data[victim.end - 3] ^= 0xFF
    else:
        data[victim.position + 16] = 7  # magic
    path.write_bytes(data)
    log = Log(tmp_path, CONFIG)
    try:
        if victim is None:
            kept, size = spans, headers[-1].end
        elif damage == "truncate_mid_batch":  # a torn tail: cut off
            kept = [s for s in spans if s[1] < victim.base_offset]
            size = victim.position
        else:  # damage in the middle: only that batch goes, the one after it stays
            kept = [s for s in spans if s[0] != victim.base_offset]
            size = len(data) - victim.size
            copy = path.with_name(path.name + ".damaged-1")
            assert copy.read_bytes() == data[victim.position : victim.end]
        assert spans_of(log) == kept
        assert log.log_end_offset == kept[-1][1] + 1
        assert path.stat().st_size == size
        info = log.append(simple_batch(1), now_ms=NOW)
        assert info.base_offset == kept[-1][1] + 1
        assert spans_of(log)[-1] == (info.base_offset, info.base_offset)
    finally:
        log.close()


def test_a_missing_index_of_an_old_segment_is_rebuilt(tmp_path: Path) -> None:
    spans = fill(tmp_path)
    logs = sorted(tmp_path.glob("*.log"))
    assert len(logs) >= 3
    old = logs[1].with_suffix(".index")
    old.unlink()
    logs[0].with_suffix(".timeindex").write_bytes(b"\x00" * 5)
    log = Log(tmp_path, CONFIG)
    try:
        assert old.exists()
        assert spans_of(log) == spans
        for base, last in spans:
            assert parse_header(log.read((base + last) // 2, 1)).base_offset == base
        assert log.offset_for_timestamp(NOW + 100 * 3) == (spans[3][0], NOW + 300)
    finally:
        log.close()


def test_a_corrupt_old_segment_loses_only_its_damaged_batch(tmp_path: Path) -> None:
    spans = fill(tmp_path)
    logs = sorted(tmp_path.glob("*.log"))
    data = bytearray(logs[0].read_bytes())
    headers = list(iter_batches(data))
    data[headers[2].end - 1] ^= 0xFF
    logs[0].write_bytes(data)
    logs[0].with_suffix(".index").unlink()
    log = Log(tmp_path, CONFIG)
    try:
        assert spans_of(log) == spans[:2] + spans[3:]
        assert log.segment_count == len(logs)
        assert sorted(tmp_path.glob("*.log")) == logs
        assert log.append(simple_batch(1), now_ms=NOW).base_offset == spans[-1][1] + 1
    finally:
        log.close()


_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from embedded_broker.storage import Log, LogConfig
    from tests.unit.storage.batches import simple_batch

    log = Log(Path(sys.argv[1]), LogConfig(segment_bytes=20000, index_interval_bytes=500))
    for i in range(int(sys.argv[2])):
        info = log.append(simple_batch(1 + i % 5, value_size=64), now_ms=1)
        print(info.last_offset, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_kill_9_loses_no_acknowledged_append(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", _WRITER, str(tmp_path), "600"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    acknowledged = int(done.stdout.split()[-1])
    assert not (tmp_path / CLEAN_SHUTDOWN_FILE).exists()
    log = Log(tmp_path, LogConfig(segment_bytes=20000, index_interval_bytes=500))
    try:
        assert log.segment_count > 5
        assert log.log_end_offset == acknowledged + 1
        headers = read_all(log, 0)
        assert headers[-1].last_offset == acknowledged
        assert [h.records_count for h in headers] == [1 + i % 5 for i in range(600)]
    finally:
        log.close()
    assert os.path.exists(tmp_path / CLEAN_SHUTDOWN_FILE)


def open_files_under(directory: Path) -> int:
    fd_dir = Path("/proc/self/fd")
    count = 0
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(directory)):
            count += 1
    return count


def test_only_the_active_and_recently_read_segments_keep_files_open(tmp_path: Path) -> None:
    directory = tmp_path / "many-0"
    log = Log(directory, LogConfig(segment_bytes=300))
    for _ in range(60):
        log.append(simple_batch(2, value_size=40), now_ms=NOW)
    assert log.segment_count > 20
    assert open_files_under(directory) == 1
    assert [h.base_offset for h in read_all(log, 0)] == list(range(0, 120, 2))
    assert log.offset_for_timestamp(0) == (0, 1_700_000_000_000)
    assert open_files_under(directory) <= 3
    log.close()
    reopened = Log(directory, LogConfig(segment_bytes=300))
    assert open_files_under(directory) <= 1  # a clean reopen reads nothing: files open on use
    assert [h.base_offset for h in read_all(reopened, 0)] == list(range(0, 120, 2))
    reopened.close()
    assert open_files_under(directory) == 0


@pytest.mark.parametrize("interval", [0, 1, 200, 100_000])
def test_clean_and_unclean_reopens_rebuild_identical_indexes(tmp_path: Path, interval: int) -> None:
    config = LogConfig(segment_bytes=1500, index_interval_bytes=interval)
    fill(tmp_path, config=config)

    def index_files() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(tmp_path.glob("*index"))}

    before = index_files()
    Log(tmp_path, config).close()  # clean reopen: tail scan from the last index entry
    assert index_files() == before
    mark_unclean(tmp_path)
    for path in tmp_path.glob("*index"):
        path.unlink()
    Log(tmp_path, config).close()  # unclean, no indexes: full rescan of every segment
    assert index_files() == before
