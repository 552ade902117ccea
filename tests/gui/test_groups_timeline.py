"""A real group rebalancing shows on the incident timeline, filterable like the other events."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition
from pytestqt.qtbot import QtBot

from desktop.domain.timeline import EventKind
from desktop.models.groups import GroupsModel
from desktop.views.timeline import TimelinePage
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups import cells
from tests.gui.test_groups_support import create_topic, groups_page, produce, unique


def member(bootstrap: str, group: str, client: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": client,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )


def test_rebalance_member_and_lag_events(qtbot: QtBot, bootstrap: str) -> None:
    topic, group = unique("tl"), unique("g-tl")
    create_topic(bootstrap, topic, 2)
    first = member(bootstrap, group, "first-client")
    first.subscribe([topic])
    consumers = [first]

    def poll_all() -> None:
        for c in consumers:
            c.poll(0.05)

    try:
        qtbot.waitUntil(lambda: (poll_all(), len(first.assignment()) == 2)[1], timeout=WAIT_MS)
        first.commit(offsets=[TopicPartition(topic, p, 0) for p in (0, 1)], asynchronous=False)
        with groups_page(qtbot, bootstrap) as page:
            session = page.session
            page.poller.lag_threshold = 5
            qtbot.waitUntil(
                lambda: (
                    poll_all(),
                    (c := cells(page, group)) is not None and c[GroupsModel.MEMBERS] == "1",
                )[1],
                timeout=WAIT_MS,
            )
            refreshes = page.poller.refreshes
            qtbot.waitUntil(lambda: (poll_all(), page.poller.refreshes > refreshes)[1])

            def events(kind: EventKind) -> list[str]:
                return [
                    e.detail
                    for e in session.timeline.events
                    if e.kind is kind and e.subject == f"group {group}"
                ]

            second = member(bootstrap, group, "second-client")
            second.subscribe([topic])
            consumers.append(second)
            qtbot.waitUntil(
                lambda: (
                    poll_all(),
                    any("second-client" in d for d in events(EventKind.MEMBER_JOINED)),
                )[1],
                timeout=WAIT_MS,
            )
            qtbot.waitUntil(
                lambda: (poll_all(), bool(events(EventKind.REBALANCE_COMPLETED)))[1],
                timeout=WAIT_MS,
            )
            produce(bootstrap, topic, {0: 10, 1: 10})
            qtbot.waitUntil(
                lambda: (poll_all(), bool(events(EventKind.LAG_ABOVE)))[1], timeout=WAIT_MS
            )
            assert events(EventKind.LAG_ABOVE)[0].startswith("total lag 20 is above 5")

            timeline = TimelinePage(session)
            qtbot.addWidget(timeline)
            timeline.kind.setCurrentText(EventKind.MEMBER_JOINED.value)
            shown = [timeline.model.index(r, 3).data() for r in range(timeline.model.rowCount())]
            assert shown and all(d.startswith("member joined") for d in shown)
            assert any("second-client" in d for d in shown)
    finally:
        for c in consumers:
            c.close()
