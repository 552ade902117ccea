"""A topic's Consumers tab lists only groups known to read the topic: a group whose offsets
cannot be read, with no member on the topic and never shown for it, is listed apart, never as
a consumer of every topic (built-in broker, the offsets fetch failing for chosen groups)."""

from __future__ import annotations

import re

import pytest
from confluent_kafka.admin import AdminClient
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

import desktop.workers.groups
from desktop.models.groups import TopicConsumersModel
from desktop.services.groups import GroupsAdmin
from desktop.views.groups import GroupsPage
from desktop.views.topic_consumers import TopicConsumers
from tests.broker_fixtures import RunningBroker
from tests.failing_offsets import OffsetsFetch, timed_out
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups_support import (
    commit_offsets,
    create_topic,
    groups_page,
    produce,
    unique,
)

FAILING: set[str] = set()  # groups whose offsets fetch times out


class _FailingFor(GroupsAdmin):
    """The panel's GroupsAdmin, its offsets fetch timing out for the groups in FAILING."""

    @property
    def client(self) -> AdminClient:
        real = self.admin.client
        fake = OffsetsFetch(real, lambda g: timed_out(g) if g in FAILING else None)
        return fake  # type: ignore[return-value]  # duck-typed


def _rows(widget: TopicConsumers) -> dict[str, list[str]]:
    m = widget.model
    return {
        str(m.index(r, 0).data()): [str(m.index(r, c).data()) for c in range(m.columnCount())]
        for r in range(m.rowCount())
    }


def _loaded(qtbot: QtBot, widget: TopicConsumers, topic: str) -> None:
    qtbot.waitUntil(lambda: widget._loaded_for == topic and not widget._loading, timeout=WAIT_MS)


def test_a_group_that_cannot_be_read_is_listed_apart_not_as_every_topics_consumer(
    qtbot: QtBot, builtin_broker: RunningBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(desktop.workers.groups, "GroupsAdmin", _FailingFor)
    FAILING.clear()
    bootstrap = builtin_broker.bootstrap
    watched, other = unique("watched"), unique("elsewhere")
    reader, never = unique("g-reader"), unique("g-never")
    create_topic(bootstrap, watched, 2)
    create_topic(bootstrap, other, 1)
    produce(bootstrap, watched, {0: 6, 1: 4})
    commit_offsets(bootstrap, reader, {(watched, 0): 1, (watched, 1): 4})
    commit_offsets(bootstrap, never, {(other, 0): 0})  # listed; reads only the other topic
    FAILING.add(never)
    page: GroupsPage
    with groups_page(qtbot, bootstrap) as page:
        widget = TopicConsumers(page.session)
        qtbot.addWidget(widget)
        widget.resize(1280, 500)
        widget.show()
        widget.show_topic(watched)
        _loaded(qtbot, widget, watched)
        rows = _rows(widget)
        assert rows[reader][TopicConsumersModel.LAG] == "5"
        # the unreadable group is no consumer of this topic: not a row, not counted
        assert never not in rows
        assert widget.status.text() == f"1 group with committed offsets on '{watched}'."
        # ... but said apart, with why
        assert widget.unread.isVisible()
        text = widget.unread.text()
        assert text == (
            "Not in the table: 1 group whose offsets could not be read, so whether it reads "
            f"'{watched}' is unknown: {never}."
        ), text
        tip = widget.unread.toolTip()
        assert re.fullmatch(
            rf"{never}: offsets could not be read at \d\d:\d\d:\d\d: .+; "
            "the lag is unknown until they can",
            tip,
        ), tip

        # the same on any other topic: apart there too, not one of its consumers
        widget.show_topic(other)
        _loaded(qtbot, widget, other)
        assert never not in _rows(widget) and reader not in _rows(widget)
        assert f"whether it reads '{other}' is unknown: {never}." in widget.unread.text()

        # a consumer shown for a topic and then unreadable stays its row, marked stale
        widget.show_topic(watched)
        _loaded(qtbot, widget, watched)
        assert reader in _rows(widget)
        FAILING.add(reader)
        qtbot.mouseClick(widget.refresh_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "could not be read" in widget.status.text(), timeout=WAIT_MS)
        _loaded(qtbot, widget, watched)
        rows = _rows(widget)
        assert rows[reader][TopicConsumersModel.LAG] == "5" and never not in rows
        assert reader not in widget.unread.text() and never in widget.unread.text()

        # readable again: the group leaves the list apart
        FAILING.clear()
        qtbot.mouseClick(widget.refresh_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not widget.unread.isVisible(), timeout=WAIT_MS)
        _loaded(qtbot, widget, watched)
        assert never not in _rows(widget)
        assert widget.status.text() == f"1 group with committed offsets on '{watched}'."
