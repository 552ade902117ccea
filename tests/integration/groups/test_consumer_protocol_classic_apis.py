"""The classic group APIs on a consumer-protocol group answer as Kafka 4.3.1 answers them:
ListGroups v5 reports the type and filters by it; DescribeGroups (v5) does not describe it."""

from __future__ import annotations

from kio.schema.describe_groups.v5.request import DescribeGroupsRequest
from kio.schema.list_groups.v5.request import ListGroupsRequest

from .clients import Poller, create_topic, unique
from .test_consumer_protocol import STEP_TIMEOUT_S, Tracked
from .wire import WireClient


def test_list_and_describe_groups_on_a_consumer_group(bootstrap: str) -> None:
    topic, group = unique("kip848l"), unique("kip848l-group")
    create_topic(bootstrap, topic, 2)
    member = Tracked(bootstrap, group, "lister")
    member.subscribe(topic)
    client = WireClient(bootstrap)
    try:
        poller = Poller([member.consumer])
        poller.until(lambda: len(member.owned()) == 2, STEP_TIMEOUT_S, "an assignment")
        listed = client.send(ListGroupsRequest(states_filter=(), types_filter=("consumer",)))
        mine = [g for g in listed.groups if g.group_id == group]
        assert [(g.group_type, g.protocol_type, g.group_state) for g in mine] == [
            ("consumer", "consumer", "Stable")
        ]
        classic = client.send(ListGroupsRequest(states_filter=(), types_filter=("classic",)))
        assert group not in [g.group_id for g in classic.groups]
        described = client.send(
            DescribeGroupsRequest(groups=(group,), include_authorized_operations=False)
        )
        d = described.groups[0]
        assert (d.error_code.value, d.group_state, d.members) == (0, "Dead", ())
    finally:
        client.close()
        member.consumer.close()
