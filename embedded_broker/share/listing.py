"""Share groups in the group-wide admin APIs: ListGroups (type and protocol type "share") and
DeleteGroups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from embedded_broker.coordinator.errors import GroupError
from embedded_broker.coordinator.messages import ListedGroup
from embedded_broker.group_runtime.runtime import group_runtime
from embedded_broker.group_runtime.share_membership import save_membership

from .group_records import committed_view
from .groups import ShareGroup, ShareGroups
from .runtime import share_coordinator

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState


async def share_groups_listed(
    state: BrokerState, states: Iterable[str], types: Iterable[str]
) -> list[ListedGroup]:
    """The share groups that pass ListGroups' filters (which ignore case)."""
    type_filter = {t.lower() for t in types}
    if type_filter and "share" not in type_filter:
        return []
    state_filter = {s.lower() for s in states}
    share = await share_coordinator(state)
    share.groups.expire(state.now_ms())
    shown = list(share.groups.groups.values())
    if group_runtime(state) is not None:
        shown = _committed(share.groups, state.now_ms())
    return [
        ListedGroup(g.group_id, "share", g.state(), "share")
        for g in shown
        if not state_filter or g.state().lower() in state_filter
    ]


def _committed(groups: ShareGroups, now_ms: int) -> list[ShareGroup]:
    """A cluster broker's groups as Kafka lists them, at the last committed offset: each as of
    its last membership write the high watermark covers. A group written but not yet committed
    is left out; one never written (its share state or configs only) is shown as it is."""
    found = []
    for group_id in sorted(set(groups.groups) | set(groups.committed)):
        if group_id in groups.committed:
            group = committed_view(groups, group_id, now_ms)  # None: a committed deletion
        elif group_id in groups.stored:
            group = None
        else:
            group = groups.groups.get(group_id)
        if group is not None:
            found.append(group)
    return found


async def delete_share_groups(state: BrokerState, names: Iterable[str]) -> dict[str, GroupError]:
    """Delete the share groups among ``names`` (an empty one with its share-partition state;
    one with members is NON_EMPTY_GROUP, as Kafka); the others are left to the caller."""
    share = await share_coordinator(state)
    share.groups.expire(state.now_ms())
    results: dict[str, GroupError] = {}
    for group_id in names:
        group = share.groups.groups.get(group_id)
        if group is None:
            continue
        if group.members:
            results[group_id] = GroupError.NON_EMPTY_GROUP
            continue
        share.groups.remove_group(group_id)
        share.partitions.pop(group_id, None)
        results[group_id] = GroupError.NONE
        saved = await share.persist(group_id)  # the file goes
        # (in a cluster, with its membership record: a new coordinator must not bring it back)
        saved = await save_membership(state, share) is GroupError.NONE and saved
        if share.clustered():  # and the share coordinators' state of its topics
            keys = [
                (info.topic_id, i)
                for topic in group.topic_sizes
                if (info := state.registry.topics.get(topic)) is not None
                for i in range(info.partitions)
            ]
            saved = await share.reset_partitions(group_id, dict.fromkeys(keys, None)) and saved
        if not saved:
            results[group_id] = GroupError.NOT_COORDINATOR
    return results
