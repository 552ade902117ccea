"""Consumer groups through the real widgets, with real confluent-kafka consumers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka import TopicPartition
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.models.groups import GroupPartitionsModel, GroupsModel, TopicConsumersModel
from desktop.views.groups import ConfirmGroupDialog, GroupsPage
from desktop.views.reset_offsets import ResetOffsetsDialog
from desktop.views.topic_consumers import TopicConsumers
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups_support import (
    admin,
    commit_offsets,
    committed,
    create_topic,
    group_consumer,
    group_ids,
    groups_page,
    high_watermarks,
    poll_until,
    produce,
    unique,
    wait_state,
)


@pytest.fixture
def page(qtbot: QtBot, bootstrap: str) -> Iterator[GroupsPage]:
    with groups_page(qtbot, bootstrap) as p:
        yield p


def cells(page: GroupsPage, group: str) -> list[str] | None:
    """What the groups table shows for `group` (None while it is not listed)."""
    proxy = page.proxy
    for r in range(proxy.rowCount()):
        if proxy.index(r, GroupsModel.GROUP).data() == group:
            return [str(proxy.index(r, c).data()) for c in range(proxy.columnCount())]
    return None


def offsets_unread(page: GroupsPage, group: str) -> bool:
    """Whether the table says `group`'s offsets could not be read at the last refresh."""
    proxy = page.proxy
    for r in range(proxy.rowCount()):
        if proxy.index(r, GroupsModel.GROUP).data() == group:
            tip = proxy.index(r, GroupsModel.TOTAL_LAG).data(Qt.ItemDataRole.ToolTipRole)
            return "could not be read" in str(tip or "")
    return False


def detail_cells(page: GroupsPage) -> dict[tuple[str, int], list[str]]:
    proxy = page.detail.partitions_proxy
    out = {}
    for r in range(proxy.rowCount()):
        row = [str(proxy.index(r, c).data()) for c in range(proxy.columnCount())]
        out[(row[0], int(row[1]))] = row
    return out


def select(qtbot: QtBot, page: GroupsPage, group: str) -> None:
    qtbot.waitUntil(lambda: cells(page, group) is not None, timeout=WAIT_MS)
    assert page.select(group)
    qtbot.waitUntil(
        lambda: page.detail.group_id == group and page.detail.detail is not None, timeout=WAIT_MS
    )


def test_lag_is_hw_minus_committed_and_reaches_zero(
    qtbot: QtBot, page: GroupsPage, bootstrap: str
) -> None:
    topic, group, silent = unique("lag"), unique("g-lag"), unique("g-silent")
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, {0: 7, 1: 11, 2: 5})
    consumer = group_consumer(bootstrap, group)
    quiet = group_consumer(bootstrap, silent)  # joins, reads, never commits
    try:
        consumer.subscribe([topic])
        quiet.subscribe([topic])
        poll_until(qtbot, consumer, lambda: bool(consumer.assignment()))
        poll_until(qtbot, quiet, lambda: bool(quiet.assignment()))
        consumer.commit(
            offsets=[
                TopicPartition(topic, 0, 2),
                TopicPartition(topic, 1, 4),
            ],
            asynchronous=False,
        )
        hw = high_watermarks(bootstrap, topic, 3)
        commits = committed(bootstrap, group)
        expected = {k: hw[k] - commits[k] for k in commits}
        assert expected == {(topic, 0): 5, (topic, 1): 7}

        total = f"{sum(expected.values()):,}"
        qtbot.waitUntil(
            lambda: (c := cells(page, group)) is not None and c[GroupsModel.TOTAL_LAG] == total,
            timeout=WAIT_MS,
        )
        row = cells(page, group)
        assert row is not None
        assert row[GroupsModel.MAX_LAG] == "7"
        assert row[GroupsModel.STATE] == "Stable"
        assert row[GroupsModel.MEMBERS] == "1"

        # a group with members but no commit is shown as such, not as zero
        qtbot.waitUntil(lambda: cells(page, silent) is not None, timeout=WAIT_MS)
        qtbot.waitUntil(
            lambda: (
                (c := cells(page, silent)) is not None and c[GroupsModel.TOTAL_LAG] == "no commits"
            ),
            timeout=WAIT_MS,
        )
        quiet_row = cells(page, silent)
        assert quiet_row is not None
        assert quiet_row[GroupsModel.STATE].endswith("no commits")

        select(qtbot, page, group)
        shown = detail_cells(page)
        for key, lag in expected.items():
            assert shown[key][GroupPartitionsModel.LAG] == f"{lag:,}"
            assert shown[key][GroupPartitionsModel.END] == f"{hw[key]:,}"
            assert shown[key][GroupPartitionsModel.COMMITTED] == f"{commits[key]:,}"
        # the assigned partition without a commit
        assert shown[(topic, 2)][GroupPartitionsModel.LAG] == "no commit (5 unread)"
        # the age of the message at the committed offset, read once
        qtbot.waitUntil(
            lambda: detail_cells(page)[(topic, 0)][GroupPartitionsModel.TIME_LAG] != "",
            timeout=WAIT_MS,
        )
        assert page.detail.members.rowCount() == 1
        assert page.detail.members.index(0, 1).data() == f"{group}-client"

        # catch up: consume everything and commit; 0 shows within two refreshes
        got: list[object] = []
        poll_until(qtbot, consumer, lambda: len(got) >= 23, got)
        # count the refreshes that finish until the screen first shows 0 (signal-driven)
        finished: list[int] = []
        zero_after: list[int] = []
        unread: list[int] = []  # refreshes whose offsets read failed (a timeout under load)

        def on_stage(_stage: object) -> None:
            row = cells(page, group)
            if zero_after or row is None:
                return
            if row[GroupsModel.TOTAL_LAG] == "0":
                zero_after.append(len(finished) - len(unread))
            elif offsets_unread(page, group) and len(unread) < len(finished):
                unread.append(1)

        page.poller.refreshed.connect(lambda _t: finished.append(1))
        page.poller.groups_updated.connect(on_stage)
        consumer.commit(asynchronous=False)
        qtbot.waitUntil(lambda: bool(zero_after), timeout=WAIT_MS)
        # the refresh in flight at commit time may predate it; the next one that reads the
        # group's offsets shows 0
        assert zero_after[0] <= 1
    finally:
        consumer.close()
        quiet.close()


def open_reset_dialog(qtbot: QtBot, page: GroupsPage, group: str) -> ResetOffsetsDialog:
    """Select `group` and open its reset dialog with the toolbar button."""
    select(qtbot, page, group)
    qtbot.mouseClick(page.reset_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert isinstance(dialog, ResetOffsetsDialog)
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def preview_reset(qtbot: QtBot, dialog: ResetOffsetsDialog) -> None:
    """Ask for the reset's preview and wait for the plan."""
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=WAIT_MS)


def test_reset_to_earliest_on_empty_group(qtbot: QtBot, page: GroupsPage, bootstrap: str) -> None:
    topic, group = unique("reset"), unique("g-reset")
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, {0: 10, 1: 10, 2: 10})
    # partition 0 starts at 4 after deleting records: earliest is not simply 0
    client = admin(bootstrap)
    futs = client.delete_records([TopicPartition(topic, 0, 4)])
    for f in futs.values():
        f.result(timeout=30)
    commit_offsets(bootstrap, group, {(topic, 0): 8, (topic, 1): 9, (topic, 2): 10})
    dialog = open_reset_dialog(qtbot, page, group)
    assert dialog.topic.currentText() == topic
    assert dialog.current_mode().value == "earliest"
    qtbot.waitUntil(lambda: dialog.state == "Empty", timeout=WAIT_MS)
    assert not dialog.refusal.isVisible()
    preview_reset(qtbot, dialog)
    preview = {(r.topic, r.partition): r.new for r in dialog.model.rows}
    assert preview == {(topic, 0): 4, (topic, 1): 0, (topic, 2): 0}
    assert dialog.proxy.rowCount() == 3
    assert dialog.execute_button.isEnabled()
    assert committed(bootstrap, group)[(topic, 1)] == 9  # a preview writes nothing
    qtbot.mouseClick(dialog.execute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.executed is not None, timeout=WAIT_MS)
    assert committed(bootstrap, group) == preview


def test_reset_chosen_partitions_by_shift(qtbot: QtBot, page: GroupsPage, bootstrap: str) -> None:
    topic, group = unique("shift"), unique("g-shift")
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, {0: 10, 1: 10, 2: 10})
    commit_offsets(bootstrap, group, {(topic, 0): 5, (topic, 1): 5, (topic, 2): 5})
    # the dialog lists the partitions the cluster view knows of
    qtbot.waitUntil(
        lambda: (snap := page.session.snapshot) is not None and snap.topic(topic) is not None,
        timeout=WAIT_MS,
    )
    dialog = open_reset_dialog(qtbot, page, group)
    qtbot.waitUntil(lambda: dialog.state == "Empty", timeout=WAIT_MS)
    dialog.mode.setCurrentIndex(4)  # shift by ±N
    assert dialog.current_mode().value == "shift"
    dialog.shift.clear()
    qtbot.keyClicks(dialog.shift, "-3")
    dialog.all_partitions.click()  # the box sits left of a wide row: click() as a user would
    assert not dialog.all_partitions.isChecked()
    dialog.partition_list.item(1).setCheckState(Qt.CheckState.Checked)
    preview_reset(qtbot, dialog)
    assert [(r.partition, r.current, r.new) for r in dialog.model.rows] == [(1, 5, 2)]
    qtbot.mouseClick(dialog.execute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.executed is not None, timeout=WAIT_MS)
    assert committed(bootstrap, group) == {(topic, 0): 5, (topic, 1): 2, (topic, 2): 5}


def test_reset_refused_on_stable_group(qtbot: QtBot, page: GroupsPage, bootstrap: str) -> None:
    topic, group = unique("busy"), unique("g-busy")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 5, 1: 5})
    consumer = group_consumer(bootstrap, group)
    try:
        consumer.subscribe([topic])
        got: list[object] = []
        poll_until(qtbot, consumer, lambda: len(got) >= 10, got)
        consumer.commit(asynchronous=False)
        before = committed(bootstrap, group)
        qtbot.waitUntil(
            lambda: (c := cells(page, group)) is not None and c[GroupsModel.STATE] == "Stable",
            timeout=WAIT_MS,
        )
        dialog = open_reset_dialog(qtbot, page, group)
        assert dialog.refusal.isVisible()
        text = dialog.refusal.text()
        assert "only be reset while the group is Empty" in text
        assert "overwrite" in text and "Stop every consumer" in text
        preview_reset(qtbot, dialog)
        assert not dialog.execute_button.isEnabled()
        assert committed(bootstrap, group) == before
    finally:
        consumer.close()


def test_reset_rechecks_state_before_executing(
    qtbot: QtBot, page: GroupsPage, bootstrap: str
) -> None:
    topic, group = unique("race"), unique("g-race")
    create_topic(bootstrap, topic, 1)
    produce(bootstrap, topic, {0: 6})
    commit_offsets(bootstrap, group, {(topic, 0): 6})
    dialog = open_reset_dialog(qtbot, page, group)
    qtbot.waitUntil(lambda: dialog.state == "Empty", timeout=WAIT_MS)
    preview_reset(qtbot, dialog)
    assert dialog.execute_button.isEnabled()
    consumer = group_consumer(bootstrap, group)  # a consumer starts after the preview
    try:
        consumer.subscribe([topic])
        poll_until(qtbot, consumer, lambda: bool(consumer.assignment()))
        wait_state(bootstrap, group, "stable", qtbot)
        qtbot.mouseClick(dialog.execute_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Stop every consumer" in dialog.message.text(), timeout=WAIT_MS)
        assert dialog.executed is None
        assert committed(bootstrap, group) == {(topic, 0): 6}
    finally:
        consumer.close()


def test_delete_group(qtbot: QtBot, page: GroupsPage, bootstrap: str) -> None:
    topic, group = unique("del"), unique("g-del")
    create_topic(bootstrap, topic, 1)
    produce(bootstrap, topic, {0: 3})
    commit_offsets(bootstrap, group, {(topic, 0): 1})
    select(qtbot, page, group)
    qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert isinstance(dialog, ConfirmGroupDialog)
    assert not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.confirm, group)
    assert dialog.ok.isEnabled()
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cells(page, group) is None, timeout=WAIT_MS)
    assert page.message.text() == f"Deleted group '{group}'."
    assert group not in group_ids(bootstrap)


def test_delete_one_topics_offsets(qtbot: QtBot, page: GroupsPage, bootstrap: str) -> None:
    keep, drop, group = unique("keep"), unique("drop"), unique("g-offs")
    create_topic(bootstrap, keep, 2)
    create_topic(bootstrap, drop, 2)
    produce(bootstrap, keep, {0: 4, 1: 4})
    produce(bootstrap, drop, {0: 4, 1: 4})
    commit_offsets(
        bootstrap,
        group,
        {(keep, 0): 1, (keep, 1): 2, (drop, 0): 3, (drop, 1): 4},
    )
    qtbot.waitUntil(
        lambda: (c := cells(page, group)) is not None and drop in c[GroupsModel.TOPICS],
        timeout=WAIT_MS,
    )
    select(qtbot, page, group)
    qtbot.mouseClick(page.delete_offsets_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert isinstance(dialog, ConfirmGroupDialog)
    dialog.topic.setCurrentText(drop)
    qtbot.keyClicks(dialog.confirm, group)
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.message.text().startswith("Deleted 2"), timeout=WAIT_MS)
    assert committed(bootstrap, group) == {(keep, 0): 1, (keep, 1): 2}
    qtbot.waitUntil(
        lambda: (c := cells(page, group)) is not None and c[GroupsModel.TOPICS] == keep,
        timeout=WAIT_MS,
    )


def test_lag_charts_receive_points(qtbot: QtBot, page: GroupsPage, bootstrap: str) -> None:
    topic, group = unique("chart"), unique("g-chart")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 20, 1: 20})
    consumer = group_consumer(bootstrap, group)
    try:
        consumer.subscribe([topic])
        got: list[object] = []
        poll_until(qtbot, consumer, lambda: len(got) >= 5, got)
        consumer.commit(asynchronous=False)
        select(qtbot, page, group)
        page.detail.tabs.setCurrentWidget(page.detail.charts)

        # keep consuming and committing while the charts fill
        def step() -> bool:
            msg = consumer.poll(0.05)
            if msg is not None and msg.error() is None:
                consumer.commit(message=msg, asynchronous=True)
            history = page.history.total.get(group)
            return (
                page.detail.charts.points() >= 3
                and history is not None
                and len(history) >= 3
                # rates need two refreshes over the same partitions: a partition's first
                # commit starts the count again
                and "at the last 30 s rates" in page.detail.charts.estimate.text()
            )

        qtbot.waitUntil(step, timeout=WAIT_MS)
        page.tabs.setCurrentWidget(page.total_chart)
        assert page.total_chart.points() >= 3
    finally:
        consumer.close()


def test_topic_consumers(qtbot: QtBot, bootstrap: str, page: GroupsPage) -> None:
    topic, other, group = unique("watched"), unique("other"), unique("g-watch")
    create_topic(bootstrap, topic, 2)
    create_topic(bootstrap, other, 1)
    produce(bootstrap, topic, {0: 6, 1: 4})
    commit_offsets(bootstrap, group, {(topic, 0): 1, (topic, 1): 4, (other, 0): 0})
    widget = TopicConsumers(page.session)
    qtbot.addWidget(widget)
    widget.show()
    widget.show_topic(topic)
    qtbot.waitUntil(lambda: widget.model.rowCount() >= 1, timeout=WAIT_MS)
    rows = {widget.model.index(r, 0).data(): r for r in range(widget.model.rowCount())}
    r = rows[group]
    assert widget.model.index(r, TopicConsumersModel.COMMITTED).data() == "2"  # on this topic
    assert widget.model.index(r, TopicConsumersModel.LAG).data() == "5"  # this topic only


def test_filter_and_hide_empty(qtbot: QtBot, page: GroupsPage, bootstrap: str) -> None:
    topic, idle, busy = unique("flt"), unique("g-idle"), unique("g-busy")
    create_topic(bootstrap, topic, 1)
    produce(bootstrap, topic, {0: 3})
    commit_offsets(bootstrap, idle, {(topic, 0): 1})
    consumer = group_consumer(bootstrap, busy)
    try:
        consumer.subscribe([topic])
        poll_until(qtbot, consumer, lambda: bool(consumer.assignment()))
        qtbot.waitUntil(
            lambda: (
                (c := cells(page, busy)) is not None and c[GroupsModel.STATE].startswith("Stable")
            ),  # "Stable · no commits"
            timeout=WAIT_MS,
        )
        qtbot.waitUntil(lambda: cells(page, idle) is not None, timeout=WAIT_MS)
        qtbot.keyClicks(page.filter, idle[:8].upper())  # case-insensitive, part of the id
        assert cells(page, idle) is not None
        assert cells(page, busy) is None
        page.filter.clear()
        qtbot.mouseClick(page.hide_empty, Qt.MouseButton.LeftButton)
        assert page.hide_empty.isChecked()
        assert cells(page, idle) is None
        assert cells(page, busy) is not None
        assert "of" in page.count.text()
    finally:
        consumer.close()


def test_selection_survives_a_new_group(qtbot: QtBot, page: GroupsPage, bootstrap: str) -> None:
    topic, first, later = unique("sel"), unique("g-first"), unique("g-later")
    create_topic(bootstrap, topic, 1)
    produce(bootstrap, topic, {0: 2})
    commit_offsets(bootstrap, first, {(topic, 0): 1})
    select(qtbot, page, first)
    commit_offsets(bootstrap, later, {(topic, 0): 2})  # the list grows: the table resets
    qtbot.waitUntil(lambda: cells(page, later) is not None, timeout=WAIT_MS)
    selected = page.selected()
    assert selected is not None and selected.group_id == first
    assert page.reset_button.isEnabled()
