"""The durable group state log: replay after restart, torn tails, compaction."""

from pathlib import Path

from embedded_broker.coordinator import FileJournal, GroupError, OffsetCommitEntry
from embedded_broker.coordinator.framing import encode_record
from embedded_broker.coordinator.journal import FILE_NAME

from .helpers import Harness


def test_offsets_and_groups_survive_a_restart(tmp_path: Path) -> None:
    h = Harness(FileJournal(tmp_path))
    [a] = h.stable_group(1)
    gen = h.generation()
    h.coordinator.commit_offsets("g", a, gen, [OffsetCommitEntry("t", 0, 10, 2, "m")])
    h.coordinator.commit_offsets("g", a, gen, [OffsetCommitEntry("t", 0, 11, 2, "m2")])
    h.coordinator.commit_offsets("solo", "", -1, [OffsetCommitEntry("t", 1, 5)])
    h.coordinator.commit_offsets("gone", "", -1, [OffsetCommitEntry("t", 1, 5)])
    h.coordinator.delete_groups(["gone"])
    h.coordinator.commit_offsets("solo", "", -1, [OffsetCommitEntry("u", 0, 1)])
    h.coordinator.delete_offsets("solo", [("u", 0)])
    # No close(): once answered, the journal is on disk (what a kill -9 leaves behind).
    h.written()
    h2 = Harness(FileJournal(tmp_path))
    c = h2.coordinator
    assert sorted(c.groups) == ["g", "solo"]
    [o] = c.fetch_offsets("g", None)
    assert (o.offset, o.leader_epoch, o.metadata) == (11, 2, "m2")
    assert [(e.topic, e.offset) for e in c.fetch_offsets("solo", None)] == [("t", 5)]
    # The member is kept: the group comes back Stable (Kafka's loadGroup).
    assert h2.state("g") == "Stable"
    assert list(c.groups["g"].members) == [a]
    assert c.groups["g"].protocol_type == "consumer"
    # The generation continues from where it was.
    assert c.groups["g"].generation == gen


def test_a_torn_tail_is_truncated(tmp_path: Path) -> None:
    h = Harness(FileJournal(tmp_path))
    h.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, 1)])
    h.written()
    path = tmp_path / FILE_NAME
    good = path.stat().st_size
    with open(path, "ab") as f:
        f.write(encode_record({"t": "offset", "g": "g", "tp": "t", "p": 0, "o": 99})[:-3])
    h2 = Harness(FileJournal(tmp_path))
    assert [e.offset for e in h2.coordinator.fetch_offsets("g", None)] == [1]
    assert path.stat().st_size == good
    h2.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, 2)])
    h2.written()
    h3 = Harness(FileJournal(tmp_path))
    assert [e.offset for e in h3.coordinator.fetch_offsets("g", None)] == [2]


def test_compaction_rewrites_only_live_state(tmp_path: Path) -> None:
    h = Harness(FileJournal(tmp_path, compact_min_bytes=4096))
    for i in range(500):
        errors = h.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, i)])
        assert errors[0][1] is GroupError.NONE
    h.written()
    size = (tmp_path / FILE_NAME).stat().st_size
    assert size < 4096 * 2
    h2 = Harness(FileJournal(tmp_path))
    assert [e.offset for e in h2.coordinator.fetch_offsets("g", None)] == [499]
