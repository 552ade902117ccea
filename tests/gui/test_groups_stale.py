"""A group whose committed offsets cannot be read keeps its last known lag, greyed and explained,
in the table, the detail header and the chart alike; one never read shows "unknown".

The groups helper process is the real one, with its offsets fetch failing on demand
(tests/failing_offsets.py), against the built-in broker."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

import desktop.workers.groups
import desktop.workers.groups_helper
from desktop.domain.groups import NO_COMMITS
from desktop.models.groups import STALE_TEXT, GroupsModel
from desktop.views.groups import GroupsPage
from tests.broker_fixtures import RunningBroker
from tests.failing_offsets import FAIL_FLAG, FailingGroupsAdmin
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups import cells, select
from tests.gui.test_groups_support import (
    commit_offsets,
    create_topic,
    groups_page,
    produce,
    unique,
)

CLOCK = r"\d\d:\d\d:\d\d"
TIP = Qt.ItemDataRole.ToolTipRole


def _index(page: GroupsPage, group: str, column: int) -> QModelIndex:
    proxy = page.proxy
    for r in range(proxy.rowCount()):
        if proxy.index(r, GroupsModel.GROUP).data() == group:
            return proxy.index(r, column)
    raise AssertionError(f"{group} is not listed")


def _settled(qtbot: QtBot, page: GroupsPage, refreshes: int) -> None:
    """Wait for `refreshes` more whole refreshes, each recorded in the lag history."""
    target = page.poller.refreshes + refreshes
    qtbot.waitUntil(
        lambda: page.poller.refreshes >= target and not page._history_due, timeout=WAIT_MS
    )


def test_unread_offsets_keep_the_last_lag_stale_and_table_header_chart_agree(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flag = tmp_path / "fail-offsets"
    monkeypatch.setenv(FAIL_FLAG, str(flag))  # the helper process inherits it
    monkeypatch.setattr(
        desktop.workers.groups_helper,
        "command",
        lambda: [sys.executable, "-m", "tests.failing_offsets"],
    )
    monkeypatch.setattr(desktop.workers.groups, "GroupsAdmin", FailingGroupsAdmin)  # the detail
    bootstrap = builtin_broker.bootstrap
    topic, group, never = unique("stale"), unique("g-stale"), unique("g-never")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 10, 1: 10})
    commit_offsets(bootstrap, group, {(topic, 0): 4, (topic, 1): 6})
    with groups_page(qtbot, bootstrap) as page:
        select(qtbot, page, group)
        qtbot.waitUntil(
            lambda: (
                (cells(page, group) or [""])[GroupsModel.TOTAL_LAG] == "10"
                and page.detail.status.text() == "Total: lag 10"
            ),
            timeout=WAIT_MS,
        )
        _settled(qtbot, page, 1)
        assert len(page.history.total[group]) >= 1

        flag.touch()  # from now on every offsets fetch times out
        commit_offsets(bootstrap, never, {(topic, 0): 1})
        qtbot.waitUntil(
            lambda: bool(_index(page, group, GroupsModel.TOTAL_LAG).data(TIP)), timeout=WAIT_MS
        )
        _settled(qtbot, page, 1)
        points = len(page.history.total[group])
        partition_points = {k: len(v) for k, v in page.history.partitions.items()}
        _settled(qtbot, page, 2)

        # the table keeps the last known numbers, greyed, and says why in a tooltip
        row = cells(page, group)
        assert row is not None
        assert (row[GroupsModel.TOTAL_LAG], row[GroupsModel.MAX_LAG]) == ("10", "6")
        assert NO_COMMITS not in row[GroupsModel.STATE]
        lag = _index(page, group, GroupsModel.TOTAL_LAG)
        tip = str(lag.data(TIP))
        assert re.fullmatch(
            f"offsets could not be read at {CLOCK}: .+; showing the last known values from {CLOCK}",
            tip,
        ), tip
        colour = lag.data(Qt.ItemDataRole.ForegroundRole)
        assert colour == QColor(STALE_TEXT)
        # the detail header shows the same numbers with the same note, and why its own
        # read failed
        qtbot.waitUntil(
            lambda: (
                page.detail.status.text().startswith("Total: lag 10 (")
                and "\n" in page.detail.status.text()
            ),
            timeout=WAIT_MS,
        )
        # read together (both change in the same event-loop step, at each refresh)
        status = page.detail.status.text()
        tip = str(_index(page, group, GroupsModel.TOTAL_LAG).data(TIP))
        assert status.startswith(f"Total: lag 10 ({tip})"), status
        assert "could not be read (" in status.split("\n", 1)[1]
        # no chart point from a failed read: neither the total nor the partitions
        assert len(page.history.total[group]) == points
        assert {k: len(v) for k, v in page.history.partitions.items()} == partition_points

        # a group never read: its lag is unknown, with the reason; never "no commits"
        qtbot.waitUntil(lambda: cells(page, never) is not None, timeout=WAIT_MS)
        fresh = cells(page, never)
        assert fresh is not None and fresh[GroupsModel.TOTAL_LAG] == "unknown"
        assert NO_COMMITS not in fresh[GroupsModel.STATE]
        assert never not in page.history.total
        why = _index(page, never, GroupsModel.TOTAL_LAG)
        assert str(why.data(TIP)).endswith("; the lag is unknown until they can")

        # the offsets can be read again: fresh numbers everywhere, a new point in the chart
        flag.unlink()
        commit_offsets(bootstrap, group, {(topic, 0): 9})
        qtbot.waitUntil(
            lambda: (
                (cells(page, group) or [""])[GroupsModel.TOTAL_LAG] == "5"
                and page.detail.status.text() == "Total: lag 5"
                and not page._history_due
                and page.history.total[group].arrays()[1][-1] == 5.0
            ),
            timeout=WAIT_MS,
        )
        lag = _index(page, group, GroupsModel.TOTAL_LAG)
        assert lag.data(TIP) is None
        qtbot.waitUntil(
            lambda: (cells(page, never) or [""])[GroupsModel.TOTAL_LAG] == "9", timeout=WAIT_MS
        )
