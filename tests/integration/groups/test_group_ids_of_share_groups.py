"""A share group's id is taken: a consumer-protocol member (ConsumerGroupHeartbeat) and a
classic member (JoinGroup) asking for it are refused as Kafka 4.3.1 refuses them, and the
share group goes on. Raw frames, on the built-in broker and on Kafka."""

from __future__ import annotations

import base64
import struct
import uuid

from kio.schema.consumer_group_heartbeat.v1 import request as heartbeat_req
from kio.schema.find_coordinator.v4 import request as find_req
from kio.schema.join_group.v9 import request as join_req
from kio.static.primitive import i8

from tests.integration.cluster.local_cluster import wait_for
from tests.integration.share.wire import ShareWire

from .clients import create_topic, unique
from .wire import WireClient, ms

GROUP_ID_NOT_FOUND = 69
INCONSISTENT_GROUP_PROTOCOL = 23
# COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR
NOT_YET = (14, 15, 16)


def _subscription(topic: str) -> bytes:
    """ConsumerProtocolSubscription v0 of one topic."""
    raw = topic.encode()
    return struct.pack(">hih", 0, 1, len(raw)) + raw + struct.pack(">i", -1)


def _join_share_group(share: ShareWire, topic: str) -> None:
    """Join, taking Kafka's "not yet" answers as a reason to ask again (FindCoordinator is what
    has Kafka create __consumer_offsets, whose partitions hold the groups)."""

    def joined() -> bool:
        share.client.send(
            find_req.FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(share.group,))
        )
        answer = share.heartbeat((topic,))
        if answer.error_code.value in NOT_YET:
            return False
        assert answer.error_code.value == 0, answer
        share.member_epoch = answer.member_epoch
        return True

    wait_for(joined, 30, "the share group member to join")


def test_consumer_and_classic_members_cannot_take_a_share_groups_id(bootstrap: str) -> None:
    topic, group = unique("shared-id"), unique("shared-id-group")
    create_topic(bootstrap, topic, 1)
    share = ShareWire(bootstrap, group, uuid.uuid4())
    client = WireClient(bootstrap)
    try:
        _join_share_group(share, topic)
        member_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        answer = client.send(
            heartbeat_req.ConsumerGroupHeartbeatRequest(
                group_id=group,
                member_id=member_id,
                member_epoch=0,
                instance_id=None,
                rack_id=None,
                rebalance_timeout=ms(30_000),
                subscribed_topic_names=(topic,),
                subscribed_topic_regex=None,
                server_assignor=None,
                topic_partitions=(),
            )
        )
        assert (answer.error_code.value, answer.error_message) == (
            GROUP_ID_NOT_FOUND,
            f"Group {group} is not a consumer group.",
        )
        joined = client.send(
            join_req.JoinGroupRequest(
                group_id=group,
                session_timeout=ms(30_000),
                rebalance_timeout=ms(30_000),
                member_id="",
                group_instance_id=None,
                protocol_type="consumer",
                protocols=(
                    join_req.JoinGroupRequestProtocol(name="range", metadata=_subscription(topic)),
                ),
                reason=None,
            )
        )
        assert (joined.error_code.value, joined.member_id) == (INCONSISTENT_GROUP_PROTOCOL, "")
        # The share group is untouched: its member heartbeats on.
        assert share.heartbeat(None).error_code == 0
    finally:
        client.close()
        share.close()
