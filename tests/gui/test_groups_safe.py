"""Numbers that agree and resets as the Kafka CLI does them, through the real widgets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from desktop.domain.groups import NO_COMMITS
from desktop.models.groups import GroupsModel, ResetPreviewModel
from desktop.views.groups import GroupsPage
from desktop.views.reset_offsets import ResetOffsetsDialog
from desktop.views.topic_consumers import TopicConsumers
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups_support import (
    commit_offsets,
    committed,
    create_topic,
    groups_page,
    produce,
    unique,
)


@pytest.fixture
def page(qtbot: QtBot, bootstrap: str) -> Iterator[GroupsPage]:
    with groups_page(qtbot, bootstrap) as p:
        yield p


def listed(page: GroupsPage, group: str) -> bool:
    proxy = page.proxy
    return any(proxy.index(r, GroupsModel.GROUP).data() == group for r in range(proxy.rowCount()))


def open_reset(qtbot: QtBot, page: GroupsPage, group: str, topic: str) -> ResetOffsetsDialog:
    qtbot.waitUntil(
        lambda: (snap := page.session.snapshot) is not None and snap.topic(topic) is not None,
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: listed(page, group), timeout=WAIT_MS)
    assert page.select(group)
    qtbot.waitUntil(
        lambda: page.detail.group_id == group and page.detail.detail is not None, timeout=WAIT_MS
    )
    qtbot.mouseClick(page.reset_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert isinstance(dialog, ResetOffsetsDialog)
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.state == "Empty", timeout=WAIT_MS)
    return dialog


def preview(qtbot: QtBot, dialog: ResetOffsetsDialog) -> None:
    dialog.plan = None
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=WAIT_MS)


def column(dialog: ResetOffsetsDialog, col: int) -> dict[int, str]:
    m = dialog.model
    return {
        int(m.index(r, ResetPreviewModel.PARTITION).data()): str(m.index(r, col).data())
        for r in range(m.rowCount())
    }


def test_shift_by_on_a_partition_without_a_commit_is_refused(
    qtbot: QtBot, page: GroupsPage, bootstrap: str
) -> None:
    topic, group = unique("shift-nc"), unique("g-shift-nc")
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, {0: 10, 1: 10, 2: 10})
    commit_offsets(bootstrap, group, {(topic, 0): 8, (topic, 1): 6})  # none on partition 2
    dialog = open_reset(qtbot, page, group, topic)
    dialog.mode.setCurrentIndex(4)  # shift by ±N
    dialog.shift.clear()
    qtbot.keyClicks(dialog.shift, "-5")
    preview(qtbot, dialog)
    # the preview says, for every partition, exactly what Execute would commit
    assert column(dialog, ResetPreviewModel.NEW) == {
        0: "3",
        1: "1",
        2: "refused: no commit to shift from",
    }
    assert not dialog.execute_button.isEnabled()
    assert "Refused, as the Kafka CLI does" in dialog.message.text()
    assert f"{topic}-2" in dialog.message.text()
    assert committed(bootstrap, group) == {(topic, 0): 8, (topic, 1): 6}

    # the partitions with a commit alone can be shifted; Current is read back after Execute
    dialog.all_partitions.click()
    dialog.partition_list.item(0).setCheckState(Qt.CheckState.Checked)
    dialog.partition_list.item(1).setCheckState(Qt.CheckState.Checked)
    preview(qtbot, dialog)
    assert dialog.execute_button.isEnabled()
    assert column(dialog, ResetPreviewModel.CURRENT) == {0: "8", 1: "6"}
    qtbot.mouseClick(dialog.execute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.executed is not None, timeout=WAIT_MS)
    assert committed(bootstrap, group) == {(topic, 0): 3, (topic, 1): 1}
    assert column(dialog, ResetPreviewModel.CURRENT) == {0: "3", 1: "1"}
    assert not dialog.execute_button.isEnabled()  # executed once; a new preview is needed


def test_to_offset_on_a_partition_without_a_commit_is_refused(
    qtbot: QtBot, page: GroupsPage, bootstrap: str
) -> None:
    topic, group = unique("to-nc"), unique("g-to-nc")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 10, 1: 10})
    commit_offsets(bootstrap, group, {(topic, 0): 9})
    dialog = open_reset(qtbot, page, group, topic)
    dialog.mode.setCurrentIndex(3)  # to a specific offset
    dialog.offset.clear()
    qtbot.keyClicks(dialog.offset, "4")
    preview(qtbot, dialog)
    assert column(dialog, ResetPreviewModel.NEW)[1].startswith("refused: no commit")
    assert not dialog.execute_button.isEnabled()
    assert committed(bootstrap, group) == {(topic, 0): 9}


def _row(page: GroupsPage, group: str) -> list[str] | None:
    proxy = page.proxy
    for r in range(proxy.rowCount()):
        if proxy.index(r, GroupsModel.GROUP).data() == group:
            return [str(proxy.index(r, c).data()) for c in range(proxy.columnCount())]
    return None


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_partitions_without_a_commit_are_listed_and_table_header_chart_agree(
    qtbot: QtBot, page: GroupsPage, bootstrap: str
) -> None:
    topic, group = unique("nocommit"), unique("g-nocommit")
    create_topic(bootstrap, topic, 4)
    produce(bootstrap, topic, {0: 100, 1: 50, 2: 30, 3: 20})
    commit_offsets(bootstrap, group, {(topic, 0): 40, (topic, 1): 10})  # none on 2 and 3
    qtbot.waitUntil(lambda: _row(page, group) is not None, timeout=WAIT_MS)
    assert page.select(group)
    bare = "50 unread on 2 partitions without a commit"
    qtbot.waitUntil(
        lambda: page.detail.detail is not None and page.detail.partitions.rowCount() == 4,
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: (_row(page, group) or [""])[GroupsModel.NO_COMMIT] == bare)
    row = _row(page, group)
    assert row is not None and row[GroupsModel.TOTAL_LAG] == "100"
    assert page.detail.status.text() == f"Total: lag 100 + {bare}"
    m = page.detail.partitions
    lags = {
        int(m.index(r, m.PARTITION).data()): str(m.index(r, m.LAG).data())
        for r in range(m.rowCount())
    }
    assert lags == {0: "60", 1: "40", 2: "no commit (30 unread)", 3: "no commit (20 unread)"}

    # every refresh: the table, the header and the chart's last point show one number
    checked: list[tuple[str, str, float]] = []
    unread: list[tuple[str, str]] = []  # refreshes whose detail could not be read

    def check() -> None:
        row = _row(page, group)
        buf = page.history.total.get(group)
        if row is None or buf is None or page.detail.summary is None:
            return
        status = page.detail.status.text()
        if "could not be read" in status or row[GroupsModel.TOTAL_LAG] == "unknown":
            # a loaded broker did not answer an offsets fetch in time: the header says so
            # (the table then shows the last known lag, stale, and the chart has no point),
            # or the lag of a group never read is unknown; never "no commits"
            unread.append((row[GroupsModel.TOTAL_LAG], status))
            return
        header = status.removeprefix("Total: lag ").split(" ")[0]
        checked.append((row[GroupsModel.TOTAL_LAG], header, float(buf.arrays()[1][-1])))

    # after the page has recorded the refresh (it does so in a later event-loop turn)
    page.poller.refreshed.connect(lambda _t: QTimer.singleShot(0, check))
    for i in range(1, 4):
        produce(bootstrap, topic, {0: 7 * i})
        commit_offsets(bootstrap, group, {(topic, 0): 40 + 5 * i, (topic, 1): 10 + i})
        qtbot.waitUntil(lambda n=i: len(checked) >= n + 1, timeout=WAIT_MS)
    for table, header, chart in checked:
        assert _number(table) == _number(header) == chart, (checked, unread)
    assert NO_COMMITS not in {table for table, _status in unread}, unread
    assert len({c[0] for c in checked}) > 1  # the numbers did move between refreshes

    # the topic's Consumers tab reads the same computation
    widget = TopicConsumers(page.session)
    qtbot.addWidget(widget)
    widget.show()
    widget.show_topic(topic)
    qtbot.waitUntil(lambda: widget.model.rowCount() >= 1, timeout=WAIT_MS)
    tm = widget.model
    r = next(r for r in range(tm.rowCount()) if tm.index(r, tm.GROUP).data() == group)
    final = _row(page, group)
    assert final is not None
    assert _number(str(tm.index(r, tm.LAG).data())) == _number(final[GroupsModel.TOTAL_LAG])
    assert tm.index(r, tm.NO_COMMIT).data() == bare
