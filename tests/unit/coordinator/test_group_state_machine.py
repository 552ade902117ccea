"""A model-based test of the group coordinator on its manual clock, restarted from its journal.

Clients join, sync, heartbeat, leave and commit in any order while time passes; at any step the
coordinator may be restarted from its journal. Invariants: a generation never goes back within a
run; every member of a Stable group has its assignment; committed offsets survive a restart; a
restart brings back every Stable and Empty group exactly as it was (members, generation, leader,
assignments), and the members of a Stable group carry on heartbeating with no rebalance.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from embedded_broker.coordinator import (
    CoordinatorConfig,
    FileJournal,
    GroupCoordinator,
    GroupError,
    JoinRequest,
    ManualClock,
    OffsetCommitEntry,
    SyncRequest,
)

from .helpers import SESSION_MS, Replies, subscription

GROUP = "g"
SOLO = "solo"
SLOTS = 4
COMPACT_BYTES = 1  # compact whenever the file has doubled, so compaction runs often
PROTOCOLS = (("range", subscription("t")), ("roundrobin", subscription("t")))


@dataclass
class Client:
    member_id: str
    instance_id: str | None
    joins: Replies
    generation: int = -1
    leader: bool = False
    members: tuple[str, ...] = ()


def _image(coord: GroupCoordinator) -> dict[str, dict[str, Any]]:
    """Everything a group's durable state covers, per group."""
    return {
        g.group_id: {
            "state": g.state.value,
            "since": g.state_since_ms,
            "generation": g.generation,
            "protocol_type": g.protocol_type,
            "protocol": g.protocol_name,
            "leader": g.leader_id,
            "members": {
                m.member_id: (
                    m.group_instance_id,
                    m.client_id,
                    m.session_timeout_ms,
                    m.rebalance_timeout_ms,
                    m.protocols,
                    m.assignment,
                )
                for m in g.members.values()
            },
            "static": dict(g.static_members),
            "subscribed": g.subscribed_topics,
            "offsets": {k: (o.offset, o.metadata) for k, o in g.offsets.items()},
        }
        for g in coord.groups.values()
    }


class GroupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="group-machine-"))
        self.clock = ManualClock()
        self.coord = self._open()
        self.clients: list[Client | None] = [None] * SLOTS
        self.committed: dict[tuple[str, str, int], int] = {}
        self.last_generation: dict[str, int] = {}
        self.next_client = 0

    def _open(self) -> GroupCoordinator:
        return GroupCoordinator(
            self.clock,
            self.clock,
            FileJournal(self.dir, compact_min_bytes=COMPACT_BYTES),
            CoordinatorConfig(initial_rebalance_delay_ms=0),
        )

    def teardown(self) -> None:
        self.coord.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients ----------------------------------------------------------------------------

    def _join(self, client: Client) -> None:
        self.next_client += 1
        self.coord.join(
            JoinRequest(
                group_id=GROUP,
                member_id=client.member_id,
                protocol_type="consumer",
                protocols=PROTOCOLS,
                session_timeout_ms=SESSION_MS,
                rebalance_timeout_ms=SESSION_MS,
                group_instance_id=client.instance_id,
                client_id=f"client-{self.next_client}",
                client_host="/127.0.0.1",
            ),
            client.joins.joins.append,
        )

    def _absorb(self, client: Client) -> None:
        """Take in the client's latest join response, as a real client would."""
        for result in client.joins.joins:
            if result.error is GroupError.NONE:
                client.member_id = result.member_id
                client.generation = result.generation
                client.leader = result.leader == result.member_id
                client.members = tuple(m.member_id for m in result.members)
            elif result.error is GroupError.MEMBER_ID_REQUIRED:
                client.member_id = result.member_id
        client.joins.joins.clear()

    def _client(self, slot: int) -> Client | None:
        client = self.clients[slot]
        if client is not None:
            self._absorb(client)
        return client

    @rule(slot=st.integers(0, SLOTS - 1), instance=st.sampled_from([None, None, "i1", "i2"]))
    def join_new(self, slot: int, instance: str | None) -> None:
        if self.clients[slot] is not None:
            return
        client = Client("", instance, Replies())
        self.clients[slot] = client
        self._join(client)
        self._absorb(client)
        if not client.generation >= 0 and client.member_id and instance is None:
            self._join(client)  # the JoinGroup v4+ second round, with the id it was given

    @rule(slot=st.integers(0, SLOTS - 1))
    def rejoin(self, slot: int) -> None:
        client = self._client(slot)
        if client is not None and client.member_id:
            self._join(client)

    @rule(slot=st.integers(0, SLOTS - 1))
    def sync(self, slot: int) -> None:
        client = self._client(slot)
        if client is None or client.generation < 0:
            return
        assignments = ()
        if client.leader:
            assignments = tuple((m, f"{m}@{client.generation}".encode()) for m in client.members)
        replies = Replies()
        self.coord.sync(
            SyncRequest(
                GROUP,
                client.member_id,
                client.generation,
                assignments,
                client.instance_id,
            ),
            replies.syncs.append,
        )

    @rule()
    def everyone_syncs(self) -> None:
        """Let the join phase end, then every client that got a join response syncs, leader
        last (what running consumers do; reaching Stable by single steps is rare)."""
        self.clock.advance(0)
        clients = [(i, self._client(i)) for i in range(SLOTS)]
        for slot, _ in sorted(
            ((i, c) for i, c in clients if c is not None), key=lambda ic: ic[1].leader
        ):
            self.sync(slot)

    @rule(slot=st.integers(0, SLOTS - 1))
    def heartbeat(self, slot: int) -> None:
        client = self._client(slot)
        if client is not None and client.member_id:
            self.coord.heartbeat(GROUP, client.member_id, client.generation, client.instance_id)

    @rule(slot=st.integers(0, SLOTS - 1))
    def leave(self, slot: int) -> None:
        client = self._client(slot)
        if client is not None and client.member_id:
            self.coord.leave(GROUP, [(client.member_id, client.instance_id)])
            self.clients[slot] = None

    @rule(slot=st.integers(0, SLOTS - 1), partition=st.integers(0, 2), offset=st.integers(0, 99))
    def commit(self, slot: int, partition: int, offset: int) -> None:
        client = self._client(slot)
        if client is None or not client.member_id:
            return
        entry = OffsetCommitEntry("t", partition, offset)
        [(_, error)] = self.coord.commit_offsets(
            GROUP,
            client.member_id,
            client.generation,
            [entry],
            group_instance_id=client.instance_id,
        )
        if error is GroupError.NONE:
            self.committed[(GROUP, "t", partition)] = offset

    @rule(partition=st.integers(0, 2), offset=st.integers(0, 99))
    def commit_without_membership(self, partition: int, offset: int) -> None:
        [(_, error)] = self.coord.commit_offsets(
            SOLO, "", -1, [OffsetCommitEntry("u", partition, offset)]
        )
        assert error is GroupError.NONE
        self.committed[(SOLO, "u", partition)] = offset

    @rule(ms=st.sampled_from([0, 0, 500, 3_000, SESSION_MS + 1, 3 * SESSION_MS]))
    def time_passes(self, ms: int) -> None:
        self.clock.advance(ms)

    # -- restart ----------------------------------------------------------------------------

    @rule()
    def restart(self) -> None:
        before = _image(self.coord)
        self.coord.close()  # writes what is queued, as answering the requests would have
        self.coord = self._open()
        after = _image(self.coord)
        for group_id, was in before.items():
            now = after.get(group_id)
            if was["state"] in ("Stable", "Empty") and (was["generation"] or was["offsets"]):
                assert now == was, group_id
            elif now is not None:
                # Mid-rebalance: the last completed rebalance comes back (Kafka does the same).
                assert now["generation"] <= was["generation"]
                assert now["offsets"] == was["offsets"]
            else:
                # Never stored: created by a join whose first rebalance had not completed.
                assert not was["offsets"]
        assert set(after) <= set(before)
        # Loading the same journal again gives the same state.
        self.coord.close()
        self.coord = self._open()
        assert _image(self.coord) == after
        self.last_generation = {g: img["generation"] for g, img in after.items()}
        # Members of a Stable group carry on: heartbeats accepted, no rebalance.
        group = self.coord.groups.get(GROUP)
        if group is not None and group.state.value == "Stable":
            for member in list(group.members.values()):
                error = self.coord.heartbeat(
                    GROUP, member.member_id, group.generation, member.group_instance_id
                )
                assert error is GroupError.NONE
            assert group.state.value == "Stable"

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def generations_only_increase(self) -> None:
        for group_id, group in self.coord.groups.items():
            assert group.generation >= self.last_generation.get(group_id, 0)
            self.last_generation[group_id] = group.generation

    @invariant()
    def stable_members_have_an_assignment(self) -> None:
        for group in self.coord.groups.values():
            if group.state.value == "Stable":
                assert group.members
                for member in group.members.values():
                    assert member.assignment, member.member_id

    @invariant()
    def committed_offsets_are_kept(self) -> None:
        for (group_id, topic, partition), offset in self.committed.items():
            group = self.coord.groups.get(group_id)
            assert group is not None
            assert group.offsets[(topic, partition)].offset == offset


GroupMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestGroupMachine = GroupMachine.TestCase
