"""Group membership is loaded from the journal as Kafka loads GroupMetadata records."""

from __future__ import annotations

from pathlib import Path

from embedded_broker.coordinator import FileJournal, GroupError, OffsetCommitEntry
from embedded_broker.coordinator.framing import encode_record
from embedded_broker.coordinator.journal import FILE_NAME

from .helpers import SESSION_MS, Harness


def _restart(h: Harness, tmp_path: Path) -> Harness:
    h.written()  # what had been answered is on disk, then the process dies (no close)
    h.coordinator.stop()
    return Harness(FileJournal(tmp_path), start_ms=h.clock.now_ms())


def test_a_stable_group_comes_back_stable_and_its_members_carry_on(tmp_path: Path) -> None:
    h = Harness(FileJournal(tmp_path))
    leader, follower = h.stable_group(2)
    generation = h.generation()
    before = h.coordinator.describe_group("g")
    h2 = _restart(h, tmp_path)
    c = h2.coordinator
    assert c.describe_group("g") == before
    assert h2.generation() == generation
    assert c.heartbeat("g", follower, generation) is GroupError.NONE
    assert c.heartbeat("g", leader, generation) is GroupError.NONE
    [(_, error)] = c.commit_offsets("g", follower, generation, [OffsetCommitEntry("t", 0, 7)])
    assert error is GroupError.NONE
    # A follower rejoining with the same protocols gets its generation back, no rebalance.
    [rejoined] = h2.join(follower).joins
    assert (rejoined.error, rejoined.generation) == (GroupError.NONE, generation)
    assert h2.state() == "Stable"


def test_members_that_do_not_come_back_expire_a_session_after_the_load(tmp_path: Path) -> None:
    h = Harness(FileJournal(tmp_path))
    leader, _follower = h.stable_group(2)
    generation = h.generation()
    h.clock.advance(SESSION_MS - 1000)  # nearly expired before the restart
    h2 = _restart(h, tmp_path)
    h2.clock.advance(SESSION_MS - 1000)
    assert h2.state() == "Stable"  # the session timer started again at load
    assert h2.coordinator.heartbeat("g", leader, generation) is GroupError.NONE
    h2.clock.advance(1001)
    # The follower never came back: it is removed and the group rebalances without it.
    assert h2.state() == "PreparingRebalance"
    assert list(h2.coordinator.groups["g"].members) == [leader]


def test_a_replaced_static_member_keeps_its_new_id(tmp_path: Path) -> None:
    h = Harness(FileJournal(tmp_path))
    [first] = h.join("", instance_id="i-1").joins or [None]
    assert first is None  # the join waits for the rebalance
    h.clock.advance(0)
    member = h.coordinator.groups["g"].static_members["i-1"]
    generation = h.generation()
    h.sync(member, generation, ((member, b"a"),), group_instance_id="i-1")
    assert h.state() == "Stable"
    [replaced] = h.join("", instance_id="i-1").joins
    new_id = replaced.member_id
    assert new_id != member
    h2 = _restart(h, tmp_path)
    c = h2.coordinator
    assert c.heartbeat("g", new_id, generation, "i-1") is GroupError.NONE
    assert c.heartbeat("g", member, generation, "i-1") is GroupError.FENCED_INSTANCE_ID
    assert c.groups["g"].members[new_id].assignment == b"a"


def test_a_rebalance_in_progress_comes_back_as_the_last_completed_one(tmp_path: Path) -> None:
    h = Harness(FileJournal(tmp_path))
    leader, follower = h.stable_group(2)
    generation = h.generation()
    h.join(leader)  # the leader rejoins: a new rebalance starts and is not finished
    h.clock.advance(0)
    h2 = _restart(h, tmp_path)
    assert h2.state() == "Stable"
    assert h2.generation() == generation
    assert sorted(h2.coordinator.groups["g"].members) == sorted([leader, follower])


def test_group_records_without_members_load_as_an_empty_group(tmp_path: Path) -> None:
    """Data directories written before members were stored still load."""
    old = {"t": "group", "g": "g", "type": "consumer", "gen": 4, "proto": "range"}
    offset = {"t": "offset", "g": "g", "tp": "t", "p": 0, "o": 3, "e": -1, "m": "", "ts": 1}
    (tmp_path / FILE_NAME).write_bytes(encode_record(old) + encode_record(offset))
    h = Harness(FileJournal(tmp_path))
    assert h.state() == "Empty"
    assert h.generation() == 4
    assert [e.offset for e in h.coordinator.fetch_offsets("g", None)] == [3]
