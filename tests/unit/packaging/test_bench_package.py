"""bench.package's size reading (the timing part needs a built bundle: `make bench`)."""

from __future__ import annotations

from pathlib import Path

from bench.package import disk_usage_mb


def test_disk_usage_counts_every_file_in_the_tree(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.so").write_bytes(b"\0" * 3 * 2**20)
    (tmp_path / "b.txt").write_bytes(b"\0" * 2**20)
    (tmp_path / "link").symlink_to(tmp_path / "b.txt")
    allocated, apparent, files = disk_usage_mb(tmp_path)
    assert files == 3
    assert 4.0 <= apparent <= 4.1  # the symlink adds its own few bytes, not its target's
    assert allocated >= 0
