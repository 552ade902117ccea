"""Group state that could not be written is never acknowledged (a full disk, over the wire)."""

from __future__ import annotations

import datetime
import errno
import uuid

import pytest
from kio.schema.errors import ErrorCode
from kio.static.primitive import i64Timedelta

from embedded_broker.coordinator import FileJournal
from tests.broker_fixtures import RunningBroker

from .classic_frames import join, sync
from .clients import create_topic
from .wire import WireClient, make, request_module

TOPIC = "written"


def _commit(client: WireClient, group: str, offset: int, member: str = "", gen: int = -1) -> int:
    mod = request_module(8, 8)
    partition = make(
        mod.OffsetCommitRequestPartition,
        partition_index=0,
        committed_offset=offset,
        committed_leader_epoch=-1,
        committed_metadata="",
    )
    response = client.send(
        make(
            mod.OffsetCommitRequest,
            group_id=group,
            generation_id_or_member_epoch=gen,
            member_id=member,
            group_instance_id=None,
            retention_time=i64Timedelta.parse(datetime.timedelta(milliseconds=-1)),
            topics=(make(mod.OffsetCommitRequestTopic, name=TOPIC, partitions=(partition,)),),
        )
    )
    [code] = [p.error_code for t in response.topics for p in t.partitions]
    return int(code)


def _fetch(client: WireClient, group: str) -> int:
    mod = request_module(9, 7)
    wanted = make(mod.OffsetFetchRequestTopic, name=TOPIC, partition_indexes=(0,))
    response = client.send(
        make(mod.OffsetFetchRequest, group_id=group, topics=(wanted,), require_stable=False)
    )
    [offset] = [p.committed_offset for t in response.topics for p in t.partitions]
    return int(offset)


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: FileJournal, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileJournal, "_write", full)


def test_a_commit_that_could_not_be_written_is_refused(
    builtin_broker: RunningBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_topic(builtin_broker.bootstrap, TOPIC, 1)
    group = f"g-{uuid.uuid4().hex[:6]}"
    client = WireClient(builtin_broker.bootstrap)
    assert _commit(client, group, 5) == ErrorCode.none
    _disk_full(monkeypatch)
    assert _commit(client, group, 9) == ErrorCode.not_coordinator  # retriable: the client retries
    monkeypatch.undo()
    assert _commit(client, group, 11) == ErrorCode.none
    client.close()
    builtin_broker.restart()
    client = WireClient(builtin_broker.bootstrap)
    assert _fetch(client, group) == 11
    client.close()


def test_a_rebalance_that_could_not_be_written_is_redone(
    builtin_broker: RunningBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_topic(builtin_broker.bootstrap, TOPIC, 1)
    group = f"g-{uuid.uuid4().hex[:6]}"
    client = WireClient(builtin_broker.bootstrap)
    first = join(client, 9, group, TOPIC)
    assert first.error_code == ErrorCode.member_id_required
    joined = join(client, 9, group, TOPIC, first.member_id)
    assert joined.error_code == ErrorCode.none
    member, generation = joined.member_id, joined.generation_id
    _disk_full(monkeypatch)
    response = sync(client, 5, group, (member, generation), b"a")
    assert response.error_code == ErrorCode.not_coordinator
    # The group did not become Stable on an assignment it could not keep: it rebalances.
    heartbeat = request_module(12, 4)
    beat = client.send(
        make(
            heartbeat.HeartbeatRequest,
            group_id=group,
            generation_id=generation,
            member_id=member,
            group_instance_id=None,
        )
    )
    assert beat.error_code == ErrorCode.rebalance_in_progress
    client.close()
