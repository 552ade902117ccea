"""Resetting and deleting a share group's offsets from the groups screen (KIP-932), as
kafka-share-groups --reset-offsets / --delete-offsets do; the same bodies on the built-in broker
and Kafka."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.models.groups import GroupsModel
from desktop.views.groups import ConfirmGroupDialog, GroupsPage
from desktop.views.reset_offsets import ResetOffsetsDialog
from tests.gui.conftest import WAIT_MS
from tests.gui.share_support import acquire_all, join, share_member
from tests.gui.test_groups import cells, open_reset_dialog, preview_reset, select
from tests.gui.test_groups_support import create_topic, groups_page, produce, unique
from tests.integration.share.conftest import topic_id
from tests.integration.share.wire import ACCEPT, ShareWire, start_offsets

REFUSED = "Stop the group's consumers first"


@contextmanager
def consumed(bootstrap: str, topic: str, group: str, *, stay: bool) -> Iterator[ShareWire]:
    """A share member that read and acknowledged every record of `topic` (3 per partition of
    2); it leaves the group unless `stay`, where heartbeats keep it in."""
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 3, 1: 3})
    with share_member(bootstrap, topic, group, (ACCEPT, ACCEPT), stay=stay) as member:
        yield member


def share_row_ready(page: GroupsPage, group: str, members: str) -> bool:
    row = cells(page, group)
    return (
        row is not None and row[GroupsModel.TYPE] == "share" and row[GroupsModel.MEMBERS] == members
    )


def open_reset(qtbot: QtBot, page: GroupsPage, group: str, members: str) -> ResetOffsetsDialog:
    qtbot.waitUntil(lambda: share_row_ready(page, group, members), timeout=WAIT_MS)
    return open_reset_dialog(qtbot, page, group)


def test_reset_to_earliest_delivers_again_from_the_start(qtbot: QtBot, bootstrap: str) -> None:
    topic, group = unique("share-reset"), unique("g-share-reset")
    with consumed(bootstrap, topic, group, stay=False), groups_page(qtbot, bootstrap) as page:
        dialog = open_reset(qtbot, page, group, "0")
        assert dialog.windowTitle() == f"Reset share offsets of '{group}'"
        assert dialog.topic_name() == topic
        assert dialog.current_mode().value == "earliest"
        qtbot.waitUntil(lambda: dialog.state == "Empty", timeout=WAIT_MS)
        assert not dialog.refusal.isVisible()
        # all the group's topics (here its one): every partition of each, none to choose
        dialog.topic.setCurrentIndex(0)
        assert dialog.topic_name() == "" and not dialog.all_partitions.isEnabled()
        preview_reset(qtbot, dialog)
        assert {(r.topic, r.partition): r.new for r in dialog.model.rows} == {
            (topic, 0): 0,
            (topic, 1): 0,
        }
        dialog.topic.setCurrentText(topic)
        assert dialog.plan is None  # a changed choice needs a new preview
        preview_reset(qtbot, dialog)
        assert {(r.topic, r.partition): r.new for r in dialog.model.rows} == {
            (topic, 0): 0,
            (topic, 1): 0,
        }
        # a preview writes nothing: every record is still acknowledged (no lag)
        assert all(lag == 0 for _start, lag in start_offsets(bootstrap, group, topic).values())
        assert dialog.execute_button.isEnabled()
        qtbot.mouseClick(dialog.execute_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.executed is not None, timeout=WAIT_MS)
        assert "Committed 2 share start offset(s)" in dialog.message.text()
        assert {(r.topic, r.partition): r.current for r in dialog.executed.rows} == {
            (topic, 0): 0,
            (topic, 1): 0,
        }
        dialog.close()
        # the groups screen, refreshed, shows every record waiting again
        qtbot.waitUntil(
            lambda: (row := cells(page, group)) is not None and row[GroupsModel.TOTAL_LAG] == "6",
            timeout=WAIT_MS,
        )
    # a share consumer of the group gets every record again, from the start
    again = ShareWire(bootstrap, group, topic_id(bootstrap, topic))
    try:
        join(again, topic)
        got = acquire_all(again, {0: 3, 1: 3})
        assert sorted(got[0]) == [0, 1, 2] and sorted(got[1]) == [0, 1, 2]
    finally:
        again.heartbeat(None, epoch=-1)
        again.close()


def test_delete_removes_the_topic_from_the_groups_offsets(qtbot: QtBot, bootstrap: str) -> None:
    topic, group = unique("share-del"), unique("g-share-del")
    with consumed(bootstrap, topic, group, stay=False), groups_page(qtbot, bootstrap) as page:
        qtbot.waitUntil(
            lambda: share_row_ready(page, group, "0") and topic in page.poller.groups[group].topics,
            timeout=WAIT_MS,
        )
        select(qtbot, page, group)
        assert page.delete_offsets_button.isEnabled()
        qtbot.mouseClick(page.delete_offsets_button, Qt.MouseButton.LeftButton)
        dialog = page.dialog
        assert isinstance(dialog, ConfirmGroupDialog)
        assert dialog.windowTitle() == f"Delete share offsets '{group}'"
        assert dialog.topic.currentText() == topic
        assert not dialog.ok.isEnabled()  # until the group id is typed
        qtbot.keyClicks(dialog.confirm, group)
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: page.message.text().startswith("Deleted the share offsets"), timeout=WAIT_MS
        )
        assert start_offsets(bootstrap, group, topic) == {}
        # the groups screen, refreshed, no longer lists the topic for the group
        qtbot.waitUntil(lambda: page.poller.groups[group].topics == (), timeout=WAIT_MS)


def test_a_share_group_with_a_member_is_refused_and_left_unchanged(
    qtbot: QtBot, bootstrap: str
) -> None:
    topic, group = unique("share-busy"), unique("g-share-busy")
    with consumed(bootstrap, topic, group, stay=True), groups_page(qtbot, bootstrap) as page:
        before = start_offsets(bootstrap, group, topic)
        dialog = open_reset(qtbot, page, group, "1")
        qtbot.waitUntil(
            lambda: dialog.refusal.isVisible() and REFUSED in dialog.refusal.text(),
            timeout=WAIT_MS,
        )
        preview_reset(qtbot, dialog)
        assert not dialog.execute_button.isEnabled()
        assert REFUSED in dialog.message.text()
        # the broker is the last word: a plan made while the group looked empty is refused too
        assert dialog.plan is not None
        dialog.plan = dataclasses.replace(dialog.plan, state="Empty")
        dialog.execute()
        qtbot.waitUntil(lambda: "Nothing was changed" in dialog.message.text(), timeout=WAIT_MS)
        assert REFUSED in dialog.message.text()
        assert dialog.executed is None
        dialog.close()
        # deleting is refused the same way
        select(qtbot, page, group)
        qtbot.mouseClick(page.delete_offsets_button, Qt.MouseButton.LeftButton)
        confirm = page.dialog
        assert isinstance(confirm, ConfirmGroupDialog)
        qtbot.keyClicks(confirm.confirm, group)
        qtbot.mouseClick(confirm.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Nothing was changed" in page.message.text(), timeout=WAIT_MS)
        assert REFUSED in page.message.text()
        assert start_offsets(bootstrap, group, topic) == before
