"""group.share.max.size: a share group that is full turns a new member away with
GROUP_MAX_SIZE_REACHED, keeps the members it has, and lets one in once a member leaves."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from tests.broker_fixtures import BrokerFactory

from .conftest import TopicMaker
from .wire import ShareWire


def test_a_full_share_group_refuses_a_new_member_until_one_leaves(
    builtin_broker_factory: BrokerFactory, make_topic: TopicMaker
) -> None:
    broker = builtin_broker_factory(config={"group.share.max.size": "2"}, in_memory=True)
    topic, tid = make_topic(broker.bootstrap, 2)
    group = "capped-share"
    members = [ShareWire(broker.bootstrap, group, tid) for _ in range(3)]
    first, second, third = members
    try:
        first.join(topic)
        second.join(topic)
        refused = third.heartbeat((topic,))
        assert refused.error_code == ErrorCode.group_max_size_reached
        assert "maximum capacity of 2" in (refused.error_message or "")
        # the members inside go on as before
        assert first.heartbeat(None).error_code == ErrorCode.none
        left = second.heartbeat(None, epoch=-1)
        assert left.error_code == ErrorCode.none
        assert third.join(topic).error_code == ErrorCode.none
    finally:
        for member in members:
            member.close()
