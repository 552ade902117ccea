"""A real, small filesystem for full-disk tests: a tmpfs mounted for one test.

Mounting needs root: outside CI the test is skipped with the reason; under CI=true it fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted_tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """``mount`` (created) with a tmpfs of ``size`` (as mount's size=) on it, unmounted after."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("full-disk tests must run in CI: they need root to mount a tmpfs")
        pytest.skip(f"needs root to mount a {size} tmpfs (a real, small filesystem)")
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Append to ``path`` until its filesystem is full."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\0" * 1024):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
