"""Profile saves go to a write-behind thread: the caller never waits on the disk."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from desktop.domain.profile import ClusterProfile
from desktop.settings.profiles import ProfileStore
from desktop.workers import write_behind
from desktop.workers.write_behind import WriteBehind


@pytest.fixture
def held_disk(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, list[str]]:
    """A disk that hangs until released; records every text actually written."""
    release, written = threading.Event(), []
    real = write_behind.write_atomically

    def slow(path: Path, text: str) -> None:
        assert release.wait(10)
        written.append(text)
        real(path, text)

    monkeypatch.setattr(write_behind, "write_atomically", slow)
    return release, written


def test_saving_a_profile_returns_while_the_disk_hangs(
    tmp_path: Path, held_disk: tuple[threading.Event, list[str]]
) -> None:
    release, _written = held_disk
    files = WriteBehind()
    store = ProfileStore(tmp_path, files.write)
    store.put(ClusterProfile("dev", "localhost:9092"))  # returns although the disk hangs
    assert [p.name for p in store.all()] == ["dev"]
    assert not files.flush(0.05)  # still waiting on the disk
    release.set()
    assert files.flush(5)
    assert [p.name for p in ProfileStore(tmp_path).all()] == ["dev"]


def test_the_latest_save_wins_and_stale_ones_are_skipped(
    tmp_path: Path, held_disk: tuple[threading.Event, list[str]]
) -> None:
    release, written = held_disk
    files = WriteBehind()
    store = ProfileStore(tmp_path, files.write)
    for i in range(5):
        store.put(ClusterProfile(f"c{i}", "localhost:9092"))
    release.set()
    assert files.flush(5)
    assert len(written) <= 2  # the first, perhaps, and the last; not five
    assert [p.name for p in ProfileStore(tmp_path).all()] == [f"c{i}" for i in range(5)]


def test_a_failed_write_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    files = WriteBehind()
    files.write(blocker / "profiles.json", "{}")
    assert files.flush(5)
    assert files.last_error is not None and "Could not save" in files.last_error


def test_the_writer_thread_ends_when_idle_and_a_later_write_starts_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A context per window (and per test) must not leave a thread parked for good."""
    monkeypatch.setattr(write_behind, "IDLE_S", 0.05)
    files = WriteBehind()
    files.write(tmp_path / "a.json", "1")
    first = files._thread
    assert first is not None
    first.join(5)
    assert not first.is_alive()
    files.write(tmp_path / "a.json", "2")
    assert files.flush(5)
    assert (tmp_path / "a.json").read_text() == "2"
