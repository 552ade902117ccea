"""The leader-epoch cache: Kafka's OffsetForLeaderEpoch answers and its checkpoint file."""

from __future__ import annotations

from pathlib import Path

from embedded_broker.replication.epoch_cache import CHECKPOINT_FILE, LeaderEpochCache


def test_end_offsets_follow_kafkas_rules(tmp_path: Path) -> None:
    cache = LeaderEpochCache(tmp_path)
    assert cache.end_offset_for(0, 0) == (-1, -1)  # nothing known yet
    cache.assign(1, 0)
    cache.assign(3, 10)
    cache.assign(5, 25)
    assert cache.latest_epoch == 5
    assert cache.end_offset_for(5, 40) == (5, 40)  # the latest epoch ends at the log end
    assert cache.end_offset_for(1, 40) == (1, 10)
    assert cache.end_offset_for(2, 40) == (1, 10)  # unknown epoch: the largest below it
    assert cache.end_offset_for(4, 40) == (3, 25)
    assert cache.end_offset_for(0, 40) == (0, 0)  # below the first: its start
    assert cache.end_offset_for(6, 40) == (-1, -1)  # above the latest: undefined
    assert cache.end_offset_for(-1, 40) == (-1, -1)


def test_a_new_epoch_replaces_entries_it_contradicts(tmp_path: Path) -> None:
    cache = LeaderEpochCache(tmp_path)
    cache.assign(1, 0)
    cache.assign(2, 5)
    cache.assign(2, 9)  # a known epoch: no change
    cache.assign(3, 5)  # epoch 2 never got a record: it goes
    assert cache.entries == [(1, 0), (3, 5)]


def test_the_checkpoint_survives_a_restart_and_truncation(tmp_path: Path) -> None:
    cache = LeaderEpochCache(tmp_path)
    cache.assign(1, 0)
    cache.assign(2, 7)
    cache.assign(4, 12)
    assert (tmp_path / CHECKPOINT_FILE).read_text() == "0\n3\n1 0\n2 7\n4 12\n"
    cache.truncate_from_end(7)  # the log was cut at 7: epochs 2 and 4 never happened
    again = LeaderEpochCache(tmp_path)
    assert again.entries == [(1, 0)]


def test_a_damaged_checkpoint_starts_empty(tmp_path: Path) -> None:
    (tmp_path / CHECKPOINT_FILE).write_text("0\n2\n1 zero\n")
    assert LeaderEpochCache(tmp_path).entries == []
    assert LeaderEpochCache(None).entries == []  # in memory: nothing to read
