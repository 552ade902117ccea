"""Every advertised version of every group API, over the wire, against the built-in broker."""

from __future__ import annotations

import datetime
import uuid

import pytest
from kio.schema.errors import ErrorCode
from kio.static.primitive import i64Timedelta

from embedded_broker.handlers import API_TABLE
from tests.broker_fixtures import RunningBroker

from .classic_frames import join, sync
from .clients import create_topic
from .wire import WireClient, make, request_module

TOPIC = "versions"


def versions(api_key: int) -> list[int]:
    spec = API_TABLE[api_key]
    return list(range(spec.min_version, spec.max_version + 1))


@pytest.fixture
def client(builtin_broker: RunningBroker) -> WireClient:
    create_topic(builtin_broker.bootstrap, TOPIC, 2)
    return WireClient(builtin_broker.bootstrap)


def topic_id(client: WireClient) -> uuid.UUID:
    """The id of TOPIC: OffsetCommit and OffsetFetch v10 name topics by id."""
    from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic

    response = client.send(
        MetadataRequest(
            topics=(MetadataRequestTopic(topic_id=None, name=TOPIC),),
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )
    )
    return response.topics[0].topic_id  # type: ignore[no-any-return]


def full_join(client: WireClient, version: int, group: str) -> tuple[str, int]:
    response = join(client, version, group, TOPIC)
    if version >= 4:
        assert response.error_code == ErrorCode.member_id_required
        response = join(client, version, group, TOPIC, response.member_id)
    assert response.error_code == ErrorCode.none
    assert response.leader == response.member_id
    assert response.protocol_name == "range"
    return response.member_id, response.generation_id


@pytest.mark.parametrize("version", versions(11))
def test_join_sync_heartbeat_leave_every_join_version(client: WireClient, version: int) -> None:
    group = f"join-v{version}-{uuid.uuid4().hex[:6]}"
    member, generation = full_join(client, version, group)
    for sync_version in versions(14):
        response = sync(client, sync_version, group, (member, generation), b"\x00a")
        assert response.error_code == ErrorCode.none
        assert response.assignment == b"\x00a"
    for hb_version in versions(12):
        mod = request_module(12, hb_version)
        response = client.send(
            make(
                mod.HeartbeatRequest,
                group_id=group,
                generation_id=generation,
                member_id=member,
                group_instance_id=None,
            )
        )
        assert response.error_code == ErrorCode.none
    leave_version = min(version % 6, max(versions(13)))
    mod = request_module(13, leave_version)
    identity = (
        (make(mod.MemberIdentity, member_id=member, group_instance_id=None, reason=None),)
        if leave_version >= 3
        else ()
    )
    response = client.send(
        make(mod.LeaveGroupRequest, group_id=group, member_id=member, members=identity)
    )
    assert response.error_code == ErrorCode.none
    if leave_version >= 3:
        assert [m.error_code for m in response.members] == [ErrorCode.none]


@pytest.mark.parametrize("version", versions(8))
def test_offset_commit_and_fetch_every_version(client: WireClient, version: int) -> None:
    group = f"offsets-v{version}-{uuid.uuid4().hex[:6]}"
    mod = request_module(8, version)
    partition = make(
        mod.OffsetCommitRequestPartition,
        partition_index=1,
        committed_offset=42,
        committed_leader_epoch=0,
        commit_timestamp=-1,
        committed_metadata=f"meta-{version}",
    )
    tid = topic_id(client)
    topic = make(mod.OffsetCommitRequestTopic, name=TOPIC, topic_id=tid, partitions=(partition,))
    response = client.send(
        make(
            mod.OffsetCommitRequest,
            group_id=group,
            generation_id_or_member_epoch=-1,
            member_id="",
            group_instance_id=None,
            retention_time=i64Timedelta.parse(datetime.timedelta(milliseconds=-1)),
            topics=(topic,),
        )
    )
    assert [p.error_code for t in response.topics for p in t.partitions] == [ErrorCode.none]
    assert [getattr(t, "topic_id", tid) for t in response.topics] == [tid]
    for fetch_version in versions(9):
        fmod = request_module(9, fetch_version)
        if fetch_version >= 8:
            wanted = make(
                fmod.OffsetFetchRequestTopics, name=TOPIC, topic_id=tid, partition_indexes=(0, 1)
            )
            request = make(
                fmod.OffsetFetchRequest,
                groups=(
                    make(
                        fmod.OffsetFetchRequestGroup,
                        group_id=group,
                        member_id=None,
                        member_epoch=-1,
                        topics=(wanted,),
                    ),
                    make(
                        fmod.OffsetFetchRequestGroup,
                        group_id="nobody",
                        member_id=None,
                        member_epoch=-1,
                        topics=None,
                    ),
                ),
                require_stable=False,
            )
            response = client.send(request)
            [mine, other] = response.groups
            assert other.topics == ()
            topics = mine.topics
            assert [getattr(t, "topic_id", tid) for t in topics] == [tid]
        else:
            wanted = make(fmod.OffsetFetchRequestTopic, name=TOPIC, partition_indexes=(0, 1))
            response = client.send(
                make(
                    fmod.OffsetFetchRequest, group_id=group, topics=(wanted,), require_stable=False
                )
            )
            topics = response.topics
        got = {
            (p.partition_index, p.committed_offset, p.metadata)
            for t in topics
            for p in t.partitions
        }
        assert got == {(0, -1, ""), (1, 42, f"meta-{version}")}


@pytest.mark.parametrize("version", versions(10))
def test_find_coordinator_every_version(client: WireClient, version: int) -> None:
    mod = request_module(10, version)
    response = client.send(
        make(mod.FindCoordinatorRequest, key="g", key_type=0, coordinator_keys=("g", "h"))
    )
    if version >= 4:
        assert [(c.key, c.error_code) for c in response.coordinators] == [
            ("g", ErrorCode.none),
            ("h", ErrorCode.none),
        ]
        assert response.coordinators[0].port == client.sock.getpeername()[1]
        txn = client.send(make(mod.FindCoordinatorRequest, key_type=1, coordinator_keys=("txn",)))
        # this broker is the transaction coordinator too (issue 15)
        assert txn.coordinators[0].error_code == ErrorCode.none
        assert txn.coordinators[0].port == client.sock.getpeername()[1]
    else:
        assert response.error_code == ErrorCode.none
        assert response.port == client.sock.getpeername()[1]


def test_list_describe_delete_every_version(client: WireClient) -> None:
    group = f"admin-{uuid.uuid4().hex[:6]}"
    member, generation = full_join(client, 9, group)
    for version in versions(16):
        mod = request_module(16, version)
        response = client.send(make(mod.ListGroupsRequest, states_filter=(), types_filter=()))
        [listed] = [g for g in response.groups if g.group_id == group]
        assert listed.protocol_type == "consumer"
    for version in versions(15):
        mod = request_module(15, version)
        response = client.send(
            make(mod.DescribeGroupsRequest, groups=(group,), include_authorized_operations=True)
        )
        [described] = response.groups
        assert described.group_state == "CompletingRebalance"
        assert [m.member_id for m in described.members] == [member]
        assert described.members[0].client_id == "wire"
    for version in versions(42):
        mod = request_module(42, version)
        response = client.send(make(mod.DeleteGroupsRequest, groups_names=(group,)))
        assert [r.error_code for r in response.results] == [ErrorCode.non_empty_group]
    mod = request_module(47, 0)
    part = make(mod.OffsetDeleteRequestPartition, partition_index=0)
    response = client.send(
        make(
            mod.OffsetDeleteRequest,
            group_id=group,
            topics=(make(mod.OffsetDeleteRequestTopic, name=TOPIC, partitions=(part,)),),
        )
    )
    assert response.error_code == ErrorCode.none
    assert [p.error_code for t in response.topics for p in t.partitions] == [
        ErrorCode.group_subscribed_to_topic
    ]
    assert generation == 1
