"""The groups screen shows each group's type; for KIP-848 groups the epochs and the target
assignment; share groups (KIP-932) with their members and share-partition state."""

from __future__ import annotations

from confluent_kafka import Consumer
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.models.groups import GroupPartitionsModel, GroupsModel, MembersModel
from tests.gui.conftest import WAIT_MS
from tests.gui.share_support import share_member
from tests.gui.test_groups import cells, detail_cells, select
from tests.gui.test_groups_support import create_topic, groups_page, poll_until, produce, unique
from tests.integration.share.wire import ACCEPT, RELEASE, start_offsets

COORDINATOR_LOADING = {14, 15, 16}  # not yet loaded, not available, not the coordinator


def member_cells(page: object) -> list[list[str]]:
    proxy = page.detail.members_proxy  # type: ignore[attr-defined]
    return [
        [str(proxy.index(r, c).data()) for c in range(proxy.columnCount())]
        for r in range(proxy.rowCount())
    ]


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
            # the member epoch comes from ConsumerGroupDescribe, which confluent-kafka lacks
            qtbot.waitUntil(
                lambda: (
                    len(rows := member_cells(page)) == 1
                    and rows[0][MembersModel.EPOCH].isdigit()
                    and int(rows[0][MembersModel.EPOCH]) >= 1
                ),
                timeout=WAIT_MS,
            )
            row = member_cells(page)[0]
            assert row[MembersModel.ASSIGNED] == f"{topic} [0, 1]"
            assert row[MembersModel.TARGET] == "reconciled (same as assigned)"
            text = page.detail.protocol.text()
            assert "Group epoch" in text and "assignment epoch" in text, text
            assert "every member has its target assignment" in text, text
            select(qtbot, page, classic)
            qtbot.waitUntil(
                lambda: [r[MembersModel.CLIENT] for r in member_cells(page)] == ["classic-client"],
                timeout=WAIT_MS,
            )
            # classic groups have no coordinator-side target nor epochs: the cells stay empty
            assert member_cells(page)[0][MembersModel.TARGET] == ""
            assert member_cells(page)[0][MembersModel.EPOCH] == ""
            assert page.detail.protocol.isHidden()
    finally:
        for c in consumers:
            c.close()


def test_share_group_members_start_offsets_and_lag(qtbot: QtBot, bootstrap: str) -> None:
    topic, group = unique("share"), unique("g-share")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 3, 1: 3})
    # partition 0 acknowledged; partition 1 released, so its records wait to be delivered
    # again (a state change Kafka records at once, where merely held records may not be)
    with (
        share_member(bootstrap, topic, group, (ACCEPT, RELEASE)) as member,
        groups_page(qtbot, bootstrap) as page,
    ):
        qtbot.waitUntil(
            lambda: (
                (row := cells(page, group)) is not None
                and row[GroupsModel.TYPE] == "share"
                and row[GroupsModel.MEMBERS] == "1"
                and row[GroupsModel.TOTAL_LAG] == "3"
            ),
            timeout=WAIT_MS,
        )
        select(qtbot, page, group)
        # partition 1's records all wait again; partition 0's are done, so its start offset
        # moved past them or (Kafka) still stands at 0 with them counted as acknowledged
        qtbot.waitUntil(
            lambda: (
                {key: row[GroupPartitionsModel.LAG] for key, row in detail_cells(page).items()}
                == {(topic, 0): "0", (topic, 1): "3"}
            ),
            timeout=WAIT_MS,
        )
        rows = detail_cells(page)
        started = start_offsets(bootstrap, group, topic)
        assert rows[(topic, 0)][GroupPartitionsModel.COMMITTED] == str(started[0][0])
        assert rows[(topic, 1)][GroupPartitionsModel.COMMITTED] == "0"
        header = page.detail.partitions.headerData(
            GroupPartitionsModel.COMMITTED, Qt.Orientation.Horizontal
        )
        assert header == "Share start offset"
        # Kafka may list the member before its assignment: wait for both
        qtbot.waitUntil(
            lambda: (
                len(ms := member_cells(page)) == 1
                and ms[0][MembersModel.ASSIGNED] == f"{topic} [0, 1]"
            ),
            timeout=WAIT_MS,
        )
        m = member_cells(page)[0]
        assert m[MembersModel.MEMBER] == member.member_id
        assert m[MembersModel.ASSIGNED] == f"{topic} [0, 1]"
        assert int(m[MembersModel.EPOCH]) >= 1
        text = page.detail.protocol.text()
        assert "Group epoch" in text and "delivery counts" in text, text
