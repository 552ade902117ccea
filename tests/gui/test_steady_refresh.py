"""A refresh of a big, steady cluster costs the GUI thread little: unchanged topics are the same
objects as before (made so on the worker), and the tables skip them without re-sorting."""

from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.domain.cluster import ClusterSnapshot, PartitionInfo, TopicInfo
from desktop.models.topics import TopicsModel
from desktop.workers.session import prepared

TOPICS = 2_000


def _snapshot(messages: dict[str, int] | None = None) -> ClusterSnapshot:
    messages = messages or {}
    topics = tuple(
        TopicInfo(
            name,
            tuple(
                PartitionInfo(name, p, 1, (1, 2), (1, 2), 0, messages.get(name, 10 * i))
                for p in range(3)
            ),
        )
        for i, name in ((i, f"topic-{i:05d}") for i in range(TOPICS))
    )
    return ClusterSnapshot("id", 1, (), topics, 0, time.time())


def test_a_refresh_hands_back_unchanged_topics_as_the_same_objects() -> None:
    first = prepared(None, _snapshot())
    second = prepared(first, _snapshot({"topic-00007": 999}))
    same = [a is b for a, b in zip(first.topics, second.topics, strict=True)]
    assert same.count(False) == 1 and not same[7]
    assert second.topics[7].messages == 3 * 999
    assert "_health" in second.__dict__  # summarized on the worker, not by the screens


def test_a_steady_refresh_neither_resorts_nor_refilters_the_table(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    model = TopicsModel()
    model.sort(TopicsModel.MESSAGES, Qt.SortOrder.DescendingOrder)
    asked: list[str] = []

    def accept(t: TopicInfo) -> bool:
        asked.append(t.name)
        return not t.name.endswith("3")

    model.set_filter(accept)
    first = prepared(None, _snapshot())
    model.set_rows(first.topics)
    qtmodeltester.check(model)
    asked.clear()
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))

    # one topic's count changes but keeps its place: one row announced, one filter call
    moved = first.topics[7]
    keeps_place = prepared(first, _snapshot({moved.name: 10 * 7 + 1}))
    model.set_rows(keeps_place.topics)
    assert asked == [moved.name]
    assert not resets and len(changed) == 1
    row = changed[0][0]
    assert model.row_at(row).name == moved.name and model.row_at(row).messages == 3 * 71

    # a count that changes the order is sorted afresh, and the table is right
    jumps = prepared(keeps_place, _snapshot({moved.name: 10**9}))
    model.set_rows(jumps.topics)
    assert model.row_at(0).name == moved.name
    fresh = TopicsModel()
    fresh.sort(TopicsModel.MESSAGES, Qt.SortOrder.DescendingOrder)
    fresh.set_filter(accept)
    fresh.set_rows(jumps.topics)
    assert [t.name for t in model.rows] == [t.name for t in fresh.rows]
    shown = [model.row_at(r).name for r in range(model.rowCount())]
    assert shown == [fresh.row_at(r).name for r in range(fresh.rowCount())]
    qtmodeltester.check(model)


def test_an_unsorted_table_keeps_the_order_it_is_given() -> None:
    model = TopicsModel()
    first = prepared(None, _snapshot())
    model.set_rows(first.topics)
    backwards = dataclasses.replace(first, topics=tuple(reversed(first.topics)))
    model.set_rows(backwards.topics)
    assert model.row_at(0).name == first.topics[-1].name
