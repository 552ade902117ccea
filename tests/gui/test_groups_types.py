"""The groups screen shows each group's type and, for KIP-848 groups, the target assignment."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer
from pytestqt.qtbot import QtBot

from desktop.models.groups import GroupsModel, MembersModel
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups import cells, select
from tests.gui.test_groups_support import create_topic, groups_page, poll_until, produce, unique


def member_cells(page: object) -> list[list[str]]:
    proxy = page.detail.members_proxy  # type: ignore[attr-defined]
    return [
        [str(proxy.index(r, c).data()) for c in range(proxy.columnCount())]
        for r in range(proxy.rowCount())
    ]


@pytest.fixture(params=["builtin", pytest.param("kafka", marks=pytest.mark.realkafka)])
def bootstrap(request: pytest.FixtureRequest) -> str:
    if request.param == "builtin":
        broker: RunningBroker = request.getfixturevalue("builtin_broker")
        return broker.bootstrap
    return str(request.getfixturevalue("kafka_single").bootstrap)


def test_group_types_and_consumer_protocol_members(qtbot: QtBot, bootstrap: str) -> None:
    topic, classic, modern = unique("types"), unique("g-classic"), unique("g-848")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 3, 1: 3})
    consumers = []
    for group, protocol in ((classic, "classic"), (modern, "consumer")):
        c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "group.protocol": protocol,
                "auto.offset.reset": "earliest",
                "client.id": f"{protocol}-client",
            }
        )
        c.subscribe([topic])
        consumers.append(c)
    try:
        for c in consumers:
            poll_until(qtbot, c, lambda c=c: len(c.assignment()) == 2)  # type: ignore[misc]
        with groups_page(qtbot, bootstrap) as page:
            qtbot.waitUntil(
                lambda: (
                    (a := cells(page, classic)) is not None
                    and (b := cells(page, modern)) is not None
                    and a[GroupsModel.TYPE] == "classic"
                    and b[GroupsModel.TYPE] == "consumer"
                ),
                timeout=WAIT_MS,
            )
            select(qtbot, page, modern)
            qtbot.waitUntil(lambda: len(member_cells(page)) == 1, timeout=WAIT_MS)
            row = member_cells(page)[0]
            assert row[MembersModel.ASSIGNED] == f"{topic} [0, 1]"
            assert row[MembersModel.TARGET] == "reconciled (same as assigned)"
            select(qtbot, page, classic)
            qtbot.waitUntil(
                lambda: [r[MembersModel.CLIENT] for r in member_cells(page)] == ["classic-client"],
                timeout=WAIT_MS,
            )
            # classic groups have no coordinator-side target: the cell stays empty
            assert member_cells(page)[0][MembersModel.TARGET] == ""
    finally:
        for c in consumers:
            c.close()
