"""A topic's Consumers tab lists the share groups (KIP-932) that read the topic, marked as
share groups, beside its consumer groups; the same body on the built-in broker and Kafka."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.models.groups import TopicConsumersModel
from desktop.views.topic_consumers import TopicConsumers
from tests.gui.conftest import WAIT_MS
from tests.gui.share_support import share_member
from tests.gui.test_groups_support import commit_offsets, create_topic, groups_page, produce, unique
from tests.integration.share.wire import ACCEPT, RELEASE


def rows(widget: TopicConsumers) -> dict[str, list[str]]:
    m = widget.model
    return {
        str(m.index(r, 0).data()): [str(m.index(r, c).data()) for c in range(m.columnCount())]
        for r in range(m.rowCount())
    }


def test_a_topics_consumers_include_its_share_groups(qtbot: QtBot, bootstrap: str) -> None:
    topic, other, share, classic = unique("shared"), unique("unrelated"), unique("g-q"), unique("g")
    create_topic(bootstrap, topic, 2)
    create_topic(bootstrap, other, 1)
    produce(bootstrap, topic, {0: 3, 1: 3})
    commit_offsets(bootstrap, classic, {(topic, 0): 1, (topic, 1): 3})
    # partition 0 acknowledged; partition 1 released: its 3 records wait again
    with (
        share_member(bootstrap, topic, share, (ACCEPT, RELEASE)),
        groups_page(qtbot, bootstrap) as page,
    ):
        widget = TopicConsumers(page.session)
        qtbot.addWidget(widget)
        widget.resize(1280, 500)
        widget.show()
        widget.show_topic(topic)
        want = {
            TopicConsumersModel.TYPE: "share",
            TopicConsumersModel.MEMBERS: "1",
            TopicConsumersModel.COMMITTED: "2",  # both partitions have a start offset
            TopicConsumersModel.LAG: "3",
            TopicConsumersModel.MAX_LAG: "3",
        }

        def shown() -> bool:
            row = rows(widget).get(share)
            if row is not None and all(row[c] == v for c, v in want.items()):
                return True
            if not widget._loading:  # Kafka sets up share state in the background
                widget.load()
            return False

        qtbot.waitUntil(shown, timeout=WAIT_MS)
        found = rows(widget)
        assert found[classic][TopicConsumersModel.LAG] == "2"
        assert found[classic][TopicConsumersModel.TYPE] in ("classic", "")
        r = list(found).index(share)
        tint = widget.model.index(r, 0).data(Qt.ItemDataRole.BackgroundRole)
        assert tint is not None  # share rows stand apart
        assert "1 of them a share group" in widget.status.text(), widget.status.text()
        # the share group reads this topic only: it is not among the other's consumers
        widget.show_topic(other)
        qtbot.waitUntil(
            lambda: widget._loaded_for == other and not widget._loading, timeout=WAIT_MS
        )
        assert share not in rows(widget) and classic not in rows(widget)
