"""The consumer-group table models pass Qt's model tester, filled with realistic rows."""

from __future__ import annotations

from PySide6.QtCore import QPersistentModelIndex, Qt
from pytestqt.modeltest import ModelTester

from desktop.domain.groups import (
    GroupSummary,
    MemberInfo,
    PartitionLag,
    ResetRow,
)
from desktop.models.groups import (
    GroupPartitionsModel,
    GroupsModel,
    LagRow,
    MembersModel,
    ResetPreviewModel,
    ShareResetPreviewModel,
    TopicConsumersModel,
)
from desktop.views.groups import GroupsProxy


def _groups() -> list[GroupSummary]:
    parts = (
        PartitionLag("orders", 0, 10, 15, "m"),
        PartitionLag("orders", 1, 30, 20),  # committed above the end: ahead
        PartitionLag("payments", 0, 5, None),  # end unknown
    )
    return [
        GroupSummary("billing", "Stable", "consumer", "range", 2, parts, True, True),
        GroupSummary("idle", "Empty", "consumer", "", 0, (), True, True),  # no commits
        GroupSummary("loading", "Stable", "consumer"),  # offsets not fetched yet
        GroupSummary("moving", "PreparingRebalance", "consumer", "roundrobin", 3, parts[:1], True),
    ]


def test_groups_model(qtmodeltester: ModelTester) -> None:
    model = GroupsModel()
    model.set_rows(_groups())
    qtmodeltester.check(model)
    texts = {
        model.index(r, 0).data(): model.index(r, GroupsModel.TOTAL_LAG).data()
        for r in range(model.rowCount())
    }
    assert texts == {"billing": "5", "idle": "no commits", "loading": "", "moving": "5"}
    model.sort(GroupsModel.TOTAL_LAG, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)


def test_groups_model_with_unread_offsets(qtmodeltester: ModelTester) -> None:
    """A stale row (its offsets could not be read) and a group never read."""
    parts = (PartitionLag("orders", 0, 10, 15),)
    read = GroupSummary("stale", "Empty", "consumer", "", 0, parts, True, True)
    model = GroupsModel()
    model.set_rows(
        [
            read.unread_since("no answer in time", 1_700_000_100.0, 1_700_000_000.0),
            GroupSummary("never", "Empty", "consumer").unread_since("no answer", 1.7e9),
        ]
    )
    qtmodeltester.check(model)
    lag = {model.index(r, 0).data(): model.index(r, model.TOTAL_LAG) for r in range(2)}
    assert (lag["stale"].data(), lag["never"].data()) == ("5", "unknown")
    assert lag["stale"].data(Qt.ItemDataRole.ForegroundRole) is not None
    assert lag["never"].data(Qt.ItemDataRole.ForegroundRole) is None
    assert "showing the last known values from" in lag["stale"].data(Qt.ItemDataRole.ToolTipRole)


def test_groups_proxy_hides_empty(qtmodeltester: ModelTester) -> None:
    model = GroupsModel()
    model.set_rows(_groups())
    proxy = GroupsProxy()
    proxy.setSourceModel(model)
    proxy.set_hide_empty(True)
    qtmodeltester.check(proxy)
    shown = {proxy.index(r, 0).data() for r in range(proxy.rowCount())}
    assert shown == {"billing", "loading", "moving"}
    proxy.set_filter_text("bill")
    assert proxy.rowCount() == 1
    proxy.set_hide_empty(False)
    proxy.set_filter_text("")
    assert proxy.rowCount() == 4
    # merging a stage keeps the filter and the hidden rows up to date
    proxy.set_hide_empty(True)
    model.merge([GroupSummary("idle", "Stable", "consumer", "range", 1, (), True, True)])
    assert proxy.rowCount() == 4
    assert {g.group_id: g.state for g in model.rows}["idle"] == "Stable"


def test_detail_models(qtmodeltester: ModelTester) -> None:
    partitions = GroupPartitionsModel()
    partitions.set_rows(
        [
            LagRow(PartitionLag("orders", 0, 10, 15, "meta"), 14, 42.0),
            LagRow(PartitionLag("orders", 1, None, 20), 20, None),
            LagRow(PartitionLag("orders", 2, 30, 20), 20, 0.0),
        ]
    )
    qtmodeltester.check(partitions)
    lags = [partitions.index(r, GroupPartitionsModel.LAG).data() for r in range(3)]
    assert lags == ["5", "no commit (20 unread)", "0 (ahead)"]
    members = MembersModel()
    members.set_rows(
        [MemberInfo("m-1", "app", "/10.0.0.1", (("orders", 0), ("orders", 1), ("pay", 3)))]
    )
    qtmodeltester.check(members)
    assert members.index(0, 4).data() == "orders [0, 1]; pay [3]"
    preview = ResetPreviewModel()
    preview.set_rows([ResetRow("orders", 0, 10, 0, 0, 15), ResetRow("orders", 1, None, 0, 0, 20)])
    qtmodeltester.check(preview)
    assert preview.index(0, 4).data() == "-10"
    share = ShareResetPreviewModel()
    share.set_rows([ResetRow("orders", 0, 10, 0, 0, 15), ResetRow("orders", 1, None, 0, 0, 20)])
    qtmodeltester.check(share)
    assert share.headerData(2, Qt.Orientation.Horizontal) == "Start offset"
    assert share.index(1, 2).data() == "not started"
    consumers = TopicConsumersModel()
    consumers.set_rows(_groups())
    qtmodeltester.check(consumers)


def test_groups_model_updates_in_place(qtmodeltester: ModelTester) -> None:
    """Stages and new lists change rows, insert and remove them, and re-sort by layout change:
    no reset, and a persistent index (a view's selection) stays on its group."""
    model = GroupsModel()
    model.set_rows(_groups())
    qtmodeltester.check(model)  # the tester stays attached and checks every change below
    model.sort(GroupsModel.TOTAL_LAG, Qt.SortOrder.DescendingOrder)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles=(): changed.append((a.row(), b.row())))

    def ids() -> list[str]:
        return [model.index(r, 0).data() for r in range(model.rowCount())]

    def lagging(gid: str, lag: int) -> GroupSummary:
        part = PartitionLag("orders", 0, 0, lag)
        return GroupSummary(gid, "Stable", "consumer", "range", 1, (part,), True, True)

    idle = model.index(ids().index("idle"), 0)
    held = QPersistentModelIndex(idle)
    # a stage that changes a lag without moving its row: one dataChanged, nothing else
    before = ids()
    model.merge([lagging("moving", 5)])
    model.merge([lagging("moving", 4)])
    assert ids() == before and changed
    # a lag that moves a row: a layout change; the held index follows its group
    model.merge([lagging("loading", 1000)])
    assert ids()[0] == "loading"
    assert held.data() == "idle"
    # a new list: one group gone, one new, the rest kept
    model.sync([*(g for g in model.rows if g.group_id != "billing"), lagging("new", 7)])
    assert sorted(ids()) == ["idle", "loading", "moving", "new"]
    assert held.data() == "idle"
    assert resets == []


def test_share_and_consumer_protocol_rows(qtmodeltester: ModelTester) -> None:
    """A share group's partitions: the start offset where commits stand, and Kafka's own lag
    summed (not end - start); members of consumer-protocol groups carry their epochs."""
    parts = (
        PartitionLag("mail", 0, 400, 500, share_lag=60),  # 40 acknowledged past the start
        PartitionLag("mail", 1, 0, 500, share_lag=500),
    )
    group = GroupSummary("queue", "Stable", "share", "simple", 2, parts, True, True, "share")
    assert (group.total_lag, group.max_lag) == (560, 500)
    rows = GroupPartitionsModel()
    rows.set_rows([LagRow(p, None, None) for p in parts])
    qtmodeltester.check(rows)
    assert rows.headerData(GroupPartitionsModel.COMMITTED, Qt.Orientation.Horizontal) == (
        "Committed"
    )
    rows.set_share(True)
    assert rows.headerData(GroupPartitionsModel.COMMITTED, Qt.Orientation.Horizontal) == (
        "Share start offset"
    )
    assert [rows.index(r, GroupPartitionsModel.LAG).data() for r in range(2)] == ["60", "500"]
    qtmodeltester.check(rows)
    members = MembersModel()
    members.set_rows(
        [
            MemberInfo("m-1", "a", "h", (("t", 0),), target=(("t", 0), ("t", 1)), member_epoch=7),
            MemberInfo("m-2", "b", "h", (("t", 1),)),  # a classic member: no epoch
        ]
    )
    qtmodeltester.check(members)
    assert members.index(0, MembersModel.EPOCH).data() == "7"
    assert members.index(0, MembersModel.TARGET).data() == "reconciling to t [0, 1]"
    assert members.index(1, MembersModel.EPOCH).data() in ("", None)


def test_topic_consumers_model_with_share_and_unread_groups(qtmodeltester: ModelTester) -> None:
    """A topic's consumers: a share group marked as one, a group whose offsets could not be
    read (never read here) with the reason in its tooltip."""
    share = GroupSummary(
        "queue",
        "Stable",
        "share",
        "simple",
        2,
        (PartitionLag("orders", 0, 7, 10, share_lag=3),),
        True,
        True,
        group_type="share",
    )
    never = GroupSummary("idle", "Empty", "consumer", "", 0, (), False, True).unread_since(
        "no answer in time; whether it has commits on 'orders' is unknown", 1.7e9
    )
    model = TopicConsumersModel()
    model.set_rows([*_groups(), share, never])
    qtmodeltester.check(model)
    rows = {model.index(r, 0).data(): r for r in range(model.rowCount())}
    q, i = rows["queue"], rows["idle"]
    assert model.index(q, model.TYPE).data() == "share"
    assert model.index(q, model.LAG).data() == "3"
    assert model.index(q, model.COMMITTED).data() == "1"
    assert model.index(q, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert model.index(rows["billing"], 0).data(Qt.ItemDataRole.BackgroundRole) is None
    assert model.index(i, model.LAG).data() == "unknown"
    tip = model.index(i, model.LAG).data(Qt.ItemDataRole.ToolTipRole)
    assert "whether it has commits on 'orders' is unknown" in tip, tip
