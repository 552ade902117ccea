"""Group state as Kafka's __consumer_offsets records: byte layouts, the group's partition, and a
coordinator rebuilt from the records (the load of a partition that moved to another broker)."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future

from embedded_broker.coordinator import GroupError, OffsetCommitEntry
from embedded_broker.coordinator.framing import Record
from embedded_broker.coordinator.offsets_topic import decode, encode, partition_for
from embedded_broker.protocol.keyed_batch import decode_batches, encode_batch

from .helpers import Harness


def test_partition_is_kafkas_hash_of_the_group_id() -> None:
    # String.hashCode() values from Java: "test" 3556498, "Aa" and "BB" 2112, and
    # "polygenelubricants" Integer.MIN_VALUE, which Kafka's Utils.abs maps to 0
    assert partition_for("test", 50) == 3556498 % 50
    assert partition_for("Aa", 50) == partition_for("BB", 50) == 2112 % 50
    assert partition_for("polygenelubricants", 50) == 0
    assert partition_for("hello", 7) == 99162322 % 7


def test_offset_commit_key_and_value_are_kafkas_layouts() -> None:
    record = {"t": "offset", "g": "g1", "tp": "t", "p": 2, "o": 42, "e": 5, "m": "x", "ts": 1000}
    key, value = encode(record)
    assert key == struct.pack(">hh2sh1si", 1, 2, b"g1", 1, b"t", 2)
    assert value == struct.pack(">hqih1sq", 3, 42, 5, 1, b"x", 1000)
    assert decode(key, value) == record
    tombstone = encode({"t": "odel", "g": "g1", "tp": "t", "p": 2})
    assert tombstone == (key, None)
    assert decode(*tombstone) == {"t": "odel", "g": "g1", "tp": "t", "p": 2}


def test_group_metadata_keeps_the_chosen_protocols_subscription() -> None:
    record = {
        "t": "group",
        "g": "g1",
        "type": "consumer",
        "gen": 3,
        "proto": "range",
        "leader": "m1",
        "since": 77,
        "members": [
            {
                "id": "m1",
                "iid": None,
                "cid": "c",
                "host": "/127.0.0.1",
                "st": 10000,
                "rt": 30000,
                "protos": [["range", "AAE="], ["roundrobin", "AAI="]],
                "asg": "AAM=",
            }
        ],
    }
    key, value = encode(record)
    assert key == struct.pack(">hh2s", 2, 2, b"g1")
    assert value is not None and value[:2] == struct.pack(">h", 3)
    back = decode(key, value)
    assert back is not None
    assert back["members"][0]["protos"] == [["range", "AAE="]]
    assert back["members"][0]["asg"] == "AAM="
    assert {k: v for k, v in back.items() if k != "members"} == {
        k: v for k, v in record.items() if k != "members"
    }


def test_unknown_record_types_are_skipped() -> None:
    assert decode(struct.pack(">hh1s", 9, 1, b"g"), b"\x00\x00") is None


class _TopicJournal:
    """The records as a batch of Kafka keys and values, read back as a new leader would."""

    def __init__(self) -> None:
        self.batches: list[bytes] = []

    def load(self) -> list[Record]:
        out = []
        for batch in self.batches:
            for _, key, value in decode_batches(batch):
                record = decode(key, value)
                assert record is not None
                out.append(record)
        return out

    def append(self, records: Sequence[Record]) -> None:
        self.batches.append(encode_batch([encode(r) for r in records], 0))

    def maybe_compact(self, snapshot: Callable[[], Iterable[Record]]) -> None:
        pass

    def mark(self) -> int:
        return 0

    def barrier(self) -> Future[None]:
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def failed_since(self, mark: int) -> bool:
        return False

    def close(self) -> None:
        pass


def test_a_new_coordinator_loads_groups_and_offsets_from_the_topic_records() -> None:
    journal = _TopicJournal()
    h = Harness(journal)
    leader, follower = h.stable_group(2)
    generation = h.generation()
    c = h.coordinator
    c.commit_offsets("g", follower, generation, [OffsetCommitEntry("t", 0, 7, 3, "meta")])
    c.commit_offsets("solo", "", -1, [OffsetCommitEntry("t", 1, 9)])
    c.delete_offsets("solo", [("t", 1)])
    before = c.describe_group("g")
    c.stop()
    # the partition's leader moves: another coordinator replays what the topic holds
    h2 = Harness(start_ms=h.clock.now_ms())
    count, groups = h2.coordinator.load(journal.load())
    assert count == len(journal.load()) and groups == {"g", "solo"}
    assert h2.coordinator.describe_group("g").members == before.members
    assert h2.state() == "Stable"
    [fetched] = h2.coordinator.fetch_offsets("g", [("t", 0)])
    assert (fetched.offset, fetched.leader_epoch, fetched.metadata) == (7, 3, "meta")
    assert h2.coordinator.fetch_offsets("solo", None) == []
    assert h2.coordinator.heartbeat("g", leader, generation) is GroupError.NONE


def test_unload_tells_waiting_members_to_find_the_new_coordinator() -> None:
    h = Harness()
    h.stable_group(2)
    _, replies = h.new_member()  # a third member starts a rebalance and waits in its join
    waiting = [m for m in h.coordinator.groups["g"].members.values() if m.join_waiter]
    assert waiting
    h.coordinator.unload(["g"])
    assert "g" not in h.coordinator.groups
    assert [j.error for j in replies.joins] == [GroupError.NOT_COORDINATOR]
