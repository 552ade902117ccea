"""A thousand consumer groups: refreshes update the table in place, never resetting it, so the
selected group and the scroll position stay while rows change, appear and go."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from pytestqt.qtbot import QtBot

from desktop.domain.groups import GroupState
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.models.groups import GroupsModel
from desktop.services import groups as groups_service
from desktop.services.admin import ClusterAdmin
from desktop.services.groups import GroupsAdmin, SummaryCache
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups_support import (
    admin,
    commit_offsets,
    create_topic,
    groups_page,
    produce,
    unique,
)

GROUPS = 1000


def commit_many(bootstrap: str, topic: str, groups: list[str]) -> None:
    """One commit per group, all in flight at once (seconds, not minutes, for 1,000 groups)."""
    client = admin(bootstrap)
    pending = [
        client.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(g, [TopicPartition(topic, 0, i % 10)])]
        )[g]
        for i, g in enumerate(groups)
    ]
    for fut in pending:
        fut.result(timeout=60)


def shown(model: GroupsModel, group: str) -> list[str] | None:
    for r in range(model.rowCount()):
        if model.index(r, GroupsModel.GROUP).data() == group:
            return [str(model.index(r, c).data()) for c in range(model.columnCount())]
    return None


def test_refreshes_keep_selection_and_scroll_without_resetting(
    qtbot: QtBot, builtin_broker: RunningBroker
) -> None:
    bootstrap = builtin_broker.bootstrap
    topic = unique("scale")
    create_topic(bootstrap, topic, 1)
    produce(bootstrap, topic, {0: 20})
    prefix = unique("g")
    groups = [f"{prefix}-{i:04d}" for i in range(GROUPS)]
    commit_offsets(bootstrap, groups[0], {(topic, 0): 0})  # the coordinator is up first
    commit_many(bootstrap, topic, groups[1:])
    with groups_page(qtbot, bootstrap) as page:
        qtbot.waitUntil(
            lambda: page.poller.loaded and page.model.rowCount() >= GROUPS, timeout=WAIT_MS * 2
        )
        chosen = groups[600]
        assert page.select(chosen)
        scroll = page.table.verticalScrollBar()
        position = scroll.value()
        assert position > 0  # row 600 of 1,000: scrolled down
        resets: list[int] = []
        page.model.modelReset.connect(lambda: resets.append(1))
        page.proxy.modelReset.connect(lambda: resets.append(1))

        # a row changes (its lag), a group appears and one goes, over more refreshes
        changed, added, gone = groups[10], f"{prefix}-added", groups[20]
        commit_offsets(bootstrap, changed, {(topic, 0): 20})
        commit_offsets(bootstrap, added, {(topic, 0): 5})
        client = admin(bootstrap)  # held: a client freed at once never completes its futures
        client.delete_consumer_groups([gone])[gone].result(timeout=WAIT_MS / 1000)
        start = page.poller.refreshes

        def settled() -> bool:
            row = shown(page.model, changed)
            return (
                page.poller.refreshes >= start + 2
                and row is not None
                and row[GroupsModel.TOTAL_LAG] == "0"
                and shown(page.model, added) is not None
                and shown(page.model, gone) is None
            )

        qtbot.waitUntil(settled, timeout=WAIT_MS * 2)
        selected = page.selected()
        assert selected is not None and selected.group_id == chosen
        assert page.detail.group_id == chosen
        assert scroll.value() == position
        assert resets == []
        assert page.model.rowCount() == GROUPS  # one added, one gone


def test_unchanged_groups_are_not_rebuilt_and_empty_ones_not_described(
    builtin_broker: RunningBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh rebuilds only groups whose commits or log ends moved; the rest come back as
    the very objects of the last refresh. Empty groups cost no DescribeGroups."""
    bootstrap = builtin_broker.bootstrap
    topic = unique("cache")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 10, 1: 10})
    prefix = unique("c")
    groups = [f"{prefix}-{i}" for i in range(20)]
    commit_offsets(bootstrap, groups[0], {(topic, 0): 1})
    commit_many(bootstrap, topic, groups[1:])
    ga = GroupsAdmin(ClusterAdmin(ClusterProfile("c", bootstrap), Credentials()))
    described: list[str] = []
    describe = ga.describe

    def counting_describe(ids: Any) -> Any:
        described.extend(ids)
        return describe(ids)

    monkeypatch.setattr(ga, "describe", counting_describe)
    built: list[int] = []
    build = groups_service.lag_partitions

    def counting_build(*args: Any) -> Any:
        built.append(1)
        return build(*args)

    monkeypatch.setattr(groups_service, "lag_partitions", counting_build)

    def mine(summaries: list[Any]) -> dict[str, Any]:
        return {g.group_id: g for g in summaries if g.group_id.startswith(prefix)}

    cache = SummaryCache()
    first = mine(ga.summaries(ga.list_groups(), cache=cache))
    assert len(first) == len(groups) and len(built) >= len(groups)
    assert all(g.state == GroupState.EMPTY and g.members == 0 for g in first.values())
    assert not set(described) & set(groups)

    commit_offsets(bootstrap, groups[5], {(topic, 0): 10})
    built.clear()
    second = mine(ga.summaries(ga.list_groups(), previous=first, cache=cache))
    assert len(built) == 1  # only the group whose commit moved
    assert first[groups[5]].total_lag == 6 and second[groups[5]].total_lag == 0
    assert all(second[g] is first[g] for g in groups if g != groups[5])
