"""The request versions new in Kafka 4.3's table, answered as Kafka answers them: topics by id
(Fetch v13+, OffsetCommit/OffsetFetch v10), Metadata v13's error code, ListOffsets v11's special
timestamps and DescribeGroups v6's GROUP_ID_NOT_FOUND. Each body runs on both brokers."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from kio.schema.describe_groups.v5.request import DescribeGroupsRequest as DescribeGroupsV5
from kio.schema.describe_groups.v6.request import DescribeGroupsRequest
from kio.schema.errors import ErrorCode
from kio.schema.fetch.v18 import request as fetch18
from kio.schema.find_coordinator.v6.request import FindCoordinatorRequest
from kio.schema.list_offsets.v11 import request as lo11
from kio.schema.metadata.v13.request import MetadataRequest, MetadataRequestTopic
from kio.schema.offset_commit.v10 import request as oc10
from kio.schema.offset_fetch.v10 import request as of10
from kio.schema.types import BrokerId, GroupId, TopicName
from kio.static.primitive import i8, i32, i32Timedelta, i64

from tests.broker_fixtures import RunningBroker
from tests.integration.groups.clients import create_topic
from tests.integration.groups.wire import WireClient

BOTH = ["builtin", pytest.param("kafka", marks=pytest.mark.realkafka)]
DEADLINE_S = 30


@pytest.fixture(params=BOTH)
def bootstrap(request: pytest.FixtureRequest) -> str:
    if request.param == "kafka":
        return str(request.getfixturevalue("kafka_single").bootstrap)
    broker: RunningBroker = request.getfixturevalue("builtin_broker")
    return broker.bootstrap


@pytest.fixture
def client(bootstrap: str) -> Iterator[WireClient]:
    client = WireClient(bootstrap)
    yield client
    client.close()


def _ms(value: int) -> i32Timedelta:
    return i32Timedelta.parse(datetime.timedelta(milliseconds=value))


def _topic(client: WireClient, bootstrap: str, records: int = 0) -> tuple[str, uuid.UUID]:
    name = f"v43-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, name, 1)
    if records:
        producer = Producer({"bootstrap.servers": bootstrap})
        for n in range(records):
            producer.produce(name, value=b"v%d" % n, timestamp=1_000 + n)
        assert producer.flush(DEADLINE_S) == 0
    response = client.send(
        MetadataRequest(
            topics=(MetadataRequestTopic(topic_id=None, name=TopicName(name)),),
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )
    )
    assert response.error_code == ErrorCode.none  # Metadata v13's top-level error code
    return name, response.topics[0].topic_id


def _fetch(client: WireClient, topic_id: uuid.UUID, offset: int = 0) -> Any:
    partition = fetch18.FetchPartition(
        partition=i32(0),
        current_leader_epoch=i32(-1),
        fetch_offset=i64(offset),
        last_fetched_epoch=i32(-1),
        log_start_offset=i64(-1),
        partition_max_bytes=i32(1 << 20),
    )
    return client.send(
        fetch18.FetchRequest(
            max_wait=_ms(0),
            min_bytes=i32(1),
            max_bytes=i32(1 << 20),
            isolation_level=i8(0),
            session_id=i32(0),
            session_epoch=i32(-1),
            topics=(fetch18.FetchTopic(topic_id=topic_id, partitions=(partition,)),),
            forgotten_topics_data=(),
            rack_id="",
        )
    )


def test_fetch_v18_names_topics_by_id(client: WireClient, bootstrap: str) -> None:
    _, topic_id = _topic(client, bootstrap, records=3)
    response = _fetch(client, topic_id)
    [topic] = response.responses
    assert topic.topic_id == topic_id
    [part] = topic.partitions
    assert part.error_code == ErrorCode.none
    assert part.high_watermark == 3
    assert part.records  # the three records, in whole batches
    unknown = _fetch(client, uuid.uuid4()).responses[0]
    assert [p.error_code for p in unknown.partitions] == [ErrorCode.unknown_topic_id]


def test_offset_commit_and_fetch_v10_by_topic_id(client: WireClient, bootstrap: str) -> None:
    _, topic_id = _topic(client, bootstrap)
    group = f"v43-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + DEADLINE_S
    while True:  # Kafka loads the offsets topic on the first FindCoordinator
        found = client.send(FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(group,)))
        if found.coordinators[0].error_code == ErrorCode.none or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    stranger = uuid.uuid4()
    request = oc10.OffsetCommitRequest(
        group_id=GroupId(group),
        generation_id_or_member_epoch=i32(-1),
        member_id="",
        group_instance_id=None,
        topics=tuple(
            oc10.OffsetCommitRequestTopic(
                topic_id=tid,
                partitions=(
                    oc10.OffsetCommitRequestPartition(
                        partition_index=i32(0),
                        committed_offset=i64(7),
                        committed_leader_epoch=i32(-1),
                        committed_metadata="m",
                    ),
                ),
            )
            for tid in (topic_id, stranger)
        ),
    )
    loading = {ErrorCode.coordinator_load_in_progress, ErrorCode.not_coordinator}
    while True:  # a fresh Kafka node may still be loading the group's coordinator
        committed = client.send(request)
        codes = {p.error_code for t in committed.topics for p in t.partitions}
        if not codes & loading or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # Kafka lists the refused topics first; clients match topics by id, not by position
    assert {t.topic_id: [p.error_code for p in t.partitions] for t in committed.topics} == {
        topic_id: [ErrorCode.none],
        stranger: [ErrorCode.unknown_topic_id],
    }
    fetched = client.send(
        of10.OffsetFetchRequest(
            groups=(
                of10.OffsetFetchRequestGroup(
                    group_id=GroupId(group),
                    member_id=None,
                    member_epoch=i32(-1),
                    topics=(
                        of10.OffsetFetchRequestTopics(
                            topic_id=topic_id, partition_indexes=(i32(0),)
                        ),
                    ),
                ),
            ),
            require_stable=False,
        )
    )
    [topic] = fetched.groups[0].topics
    assert topic.topic_id == topic_id
    assert [(p.committed_offset, p.metadata) for p in topic.partitions] == [(7, "m")]


def test_list_offsets_v11_special_timestamps(client: WireClient, bootstrap: str) -> None:
    name, _ = _topic(client, bootstrap, records=3)

    def lookup(ts: int) -> tuple[int, int, int, int]:
        response = client.send(
            lo11.ListOffsetsRequest(
                replica_id=BrokerId(-1),
                isolation_level=i8(0),
                timeout=_ms(1000),
                topics=(
                    lo11.ListOffsetsTopic(
                        name=TopicName(name),
                        partitions=(
                            lo11.ListOffsetsPartition(
                                partition_index=i32(0),
                                current_leader_epoch=i32(-1),
                                timestamp=i64(ts),
                            ),
                        ),
                    ),
                ),
            )
        )
        p = response.topics[0].partitions[0]
        return p.error_code, p.offset, p.timestamp, p.leader_epoch

    assert lookup(-1) == (ErrorCode.none, 3, -1, 0)  # latest
    assert lookup(-2) == (ErrorCode.none, 0, -1, 0)  # earliest
    assert lookup(-3) == (ErrorCode.none, 2, 1_002, 0)  # the record with the largest timestamp
    assert lookup(-4) == (ErrorCode.none, 0, -1, 0)  # earliest local: all of it is local
    assert lookup(-5) == (ErrorCode.none, -1, -1, -1)  # latest tiered: nothing is tiered
    assert lookup(-6) == (ErrorCode.none, -1, -1, -1)  # earliest pending upload: none
    assert lookup(-7)[0] == ErrorCode.unsupported_version  # a special timestamp nobody knows
    assert lookup(1_001)[:3] == (ErrorCode.none, 1, 1_001)
    assert lookup(5_000) == (ErrorCode.none, -1, -1, -1)  # past the last record


def test_describe_groups_v6_says_group_not_found(client: WireClient) -> None:
    group = f"v43-absent-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + DEADLINE_S
    while True:  # Kafka answers NOT_COORDINATOR until the offsets topic is loaded
        described = client.send(
            DescribeGroupsRequest(groups=(GroupId(group),), include_authorized_operations=False)
        ).groups[0]
        if described.error_code not in (14, 15, 16) or time.monotonic() > deadline:
            break
        client.send(FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(group,)))
        time.sleep(0.2)
    assert (described.error_code, described.error_message, described.group_state) == (
        ErrorCode.group_id_not_found,
        f"Group {group} not found.",
        "Dead",
    )
    old = client.send(
        DescribeGroupsV5(groups=(GroupId(group),), include_authorized_operations=False)
    ).groups[0]
    assert (old.error_code, old.group_state) == (ErrorCode.none, "Dead")


def test_describe_groups_v6_says_a_consumer_group_is_not_classic(
    client: WireClient, bootstrap: str
) -> None:
    name, _ = _topic(client, bootstrap, records=1)
    group = f"v43-848-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": "consumer",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([name])
        deadline = time.monotonic() + DEADLINE_S
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.2)
        assert consumer.assignment(), "the consumer group never assigned the partition"
        described = client.send(
            DescribeGroupsRequest(groups=(GroupId(group),), include_authorized_operations=False)
        ).groups[0]
        assert (described.error_code, described.error_message) == (
            ErrorCode.group_id_not_found,
            f"Group {group} is not a classic group.",
        )
        old = client.send(
            DescribeGroupsV5(groups=(GroupId(group),), include_authorized_operations=False)
        ).groups[0]
        assert (old.error_code, old.group_state) == (ErrorCode.none, "Dead")
    finally:
        consumer.close()
