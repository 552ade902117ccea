"""Table models for consumer groups: the list, partitions with lag, members, reset previews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from desktop.domain.groups import (
    NO_COMMITS,
    GroupState,
    GroupSummary,
    MemberInfo,
    PartitionLag,
    ResetRow,
)
from desktop.models.base import AMBER, RED, Column, Index, RowTableModel
from desktop.models.incremental import IncrementalTableModel

GREY = "#eef1f4"
# a share group's row among a topic's consumers: a light violet, apart from the state tints
SHARE_TINT = "#efe9f7"
# the text of a row whose lag is the last known (its offsets could not be read): mid-grey,
# legible on the light and the dark palette and on the row tints
STALE_TEXT = "#8a94a3"
LAG_TIP = "High watermark - committed offset, summed over the group's committed partitions"
UNREAD_TIP = (
    "Partitions of the group's topics without a commit (shown as “no commit”) and the "
    "messages in their logs, kept apart from the lag"
)


TYPE_TIP = (
    "classic: the client-side rebalance protocol; consumer: KIP-848, assigned by the broker "
    "(group.protocol=consumer); share: KIP-932 share groups (queues), records shared among "
    "members and acknowledged one by one"
)
TARGET_TIP = (
    "Consumer-protocol groups only: the partitions the coordinator wants this member to own. "
    "While it differs from the assigned partitions, the member is still reconciling."
)
EPOCH_TIP = (
    "Consumer and share groups: the member's epoch. Below the group's assignment epoch, the "
    "member has not yet caught up with the latest assignment."
)
SHARE_START_TIP = (
    "Share groups: the share-partition start offset, the first record not yet acknowledged "
    "(earlier records are all done)"
)


def _state(g: GroupSummary) -> str:
    if g.offsets_loaded and not g.has_commits:
        return f"{g.state} · {NO_COMMITS}"
    return g.state


def _unread_data(model: RowTableModel[GroupSummary], index: Index, role: int) -> Any:
    """A row whose offsets could not be read says why in its tooltip; a stale one (the last
    known lag) is greyed. None: the model's own answer."""
    if role not in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole):
        return None
    if not index.isValid() or index.row() >= model.rowCount():
        return None
    row = model.row_at(index.row())
    if not row.offsets_error:
        return None
    if role == Qt.ItemDataRole.ToolTipRole:
        return row.unread_note()
    return QColor(STALE_TEXT) if row.stale else None


class GroupsModel(IncrementalTableModel[GroupSummary]):
    GROUP, STATE, PROTOCOL, ASSIGNOR, MEMBERS, TOPICS, TOTAL_LAG, MAX_LAG, NO_COMMIT, TYPE = range(
        10
    )
    columns = (
        Column("Group", lambda g: g.group_id),
        Column("State", _state),
        Column("Protocol", lambda g: g.protocol_type),
        Column("Assignor", lambda g: g.assignor),
        Column("Members", lambda g: g.members, numeric=True),
        Column("Topics", lambda g: g.topics if g.offsets_loaded else None),
        Column("Total lag", lambda g: g.lag_text(g.total_lag), numeric=True, tooltip=LAG_TIP),
        Column(
            "Max partition lag",
            lambda g: g.lag_text(g.max_lag),
            numeric=True,
            tooltip="The largest lag of any one partition",
        ),
        Column(
            "Without a commit",
            lambda g: g.totals.unread_text() if g.offsets_loaded else None,
            tooltip=UNREAD_TIP,
        ),
        Column("Type", lambda g: g.group_type, tooltip=TYPE_TIP),
    )

    def row_key(self, row: GroupSummary) -> Any:
        return row.group_id

    def merge(self, rows: Sequence[GroupSummary]) -> None:
        """Replace the given groups' rows: one stage of a refresh costs what it changed, not
        a pass over every group."""
        self.update_rows(rows)

    def background(self, row: GroupSummary) -> str | None:
        if row.state in (GroupState.PREPARING_REBALANCE, GroupState.COMPLETING_REBALANCE):
            return AMBER
        if row.offsets_loaded and not row.has_commits:
            return GREY
        if row.ahead:
            return RED
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        got = _unread_data(self, index, role)
        return super().data(index, role) if got is None else got


@dataclass(frozen=True)
class LagRow:
    """One partition of the group detail: the lag plus what only the detail fetches."""

    lag: PartitionLag
    stable_end: int | None
    time_lag_s: float | None


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return "< 1 s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _lag_cell(r: LagRow) -> str | int:
    lag = r.lag.lag_text
    value = f"{lag:,}" if isinstance(lag, int) else lag  # 15,904, as in the numeric cells
    if r.lag.unread is not None:
        return f"{value} ({r.lag.unread:,} unread)"
    return f"{value} (ahead)" if r.lag.ahead else lag


class GroupPartitionsModel(RowTableModel[LagRow]):
    TOPIC, PARTITION, COMMITTED, END, STABLE, LAG, TIME_LAG, METADATA = range(8)
    columns = (
        Column("Topic", lambda r: r.lag.topic),
        Column("Partition", lambda r: r.lag.partition, numeric=True),
        Column(
            "Committed",
            lambda r: r.lag.committed if r.lag.committed is not None else "no commit",
            numeric=True,
        ),
        Column("Log-end (HW)", lambda r: r.lag.end, numeric=True),
        Column(
            "LSO",
            lambda r: r.stable_end,
            numeric=True,
            tooltip="Last stable offset: the end for read_committed consumers",
        ),
        Column("Lag", _lag_cell, numeric=True, tooltip="High watermark - committed offset"),
        Column(
            "Time lag",
            lambda r: _age(r.time_lag_s),
            tooltip="Age of the message at the committed offset (read once, cached)",
        ),
        Column("Commit metadata", lambda r: r.lag.metadata),
    )

    share = False  # a share group's rows: "Committed" holds the share-partition start offset

    def set_share(self, share: bool) -> None:
        if share != self.share:
            self.share = share
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.columns) - 1)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if self.share and section == self.COMMITTED and orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return "Share start offset"
            if role == Qt.ItemDataRole.ToolTipRole:
                return SHARE_START_TIP
        if (
            self.share
            and section == self.LAG
            and orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.ToolTipRole
        ):
            return "The share-partition lag Kafka reports: records not yet acknowledged"
        return super().headerData(section, orientation, role)

    def row_key(self, row: LagRow) -> Any:
        return (row.lag.topic, row.lag.partition)

    def sort_key(self, column: int) -> Any:
        if column in (self.COMMITTED, self.LAG):
            field = "committed" if column == self.COMMITTED else "lag"

            def key(row: LagRow) -> int:
                value = getattr(row.lag, field)
                return -1 if value is None else int(value)

            return key
        return super().sort_key(column)

    def background(self, row: LagRow) -> str | None:
        if row.lag.ahead:
            return RED
        if row.lag.committed is None:
            return GREY
        return None


class MembersModel(RowTableModel[MemberInfo]):
    MEMBER, CLIENT, HOST, PARTITIONS, ASSIGNED, TARGET, EPOCH = range(7)
    columns = (
        Column("Member id", lambda m: m.member_id),
        Column("Client id", lambda m: m.client_id),
        Column("Host", lambda m: m.host.lstrip("/")),
        Column("Partitions", lambda m: len(m.assignment), numeric=True),
        Column("Assigned partitions", lambda m: m.assignment_text),
        Column("Target assignment", lambda m: m.target_text, tooltip=TARGET_TIP),
        Column("Member epoch", lambda m: m.member_epoch, numeric=True, tooltip=EPOCH_TIP),
    )

    def row_key(self, row: MemberInfo) -> Any:
        return row.member_id


class ResetPreviewModel(RowTableModel[ResetRow]):
    TOPIC, PARTITION, CURRENT, NEW, CHANGE, LOW, HIGH = range(7)
    columns = (
        Column("Topic", lambda r: r.topic),
        Column("Partition", lambda r: r.partition, numeric=True),
        Column(
            "Current", lambda r: r.current if r.current is not None else "no commit", numeric=True
        ),
        Column(
            "Execute commits",
            lambda r: r.new_text,
            numeric=True,
            tooltip="Exactly the offset Execute commits for this partition",
        ),
        Column("Change", lambda r: "" if r.change is None else f"{r.change:+,}"),
        Column("Log start", lambda r: r.low, numeric=True),
        Column("Log end", lambda r: r.high, numeric=True),
    )

    def row_key(self, row: ResetRow) -> Any:
        return (row.topic, row.partition)

    def background(self, row: ResetRow) -> str | None:
        return RED if row.refused else None


class ShareResetPreviewModel(ResetPreviewModel):
    """The preview of a share group's reset: its share-partition start offsets."""

    columns = (
        ResetPreviewModel.columns[0],
        ResetPreviewModel.columns[1],
        Column(
            "Start offset",
            lambda r: r.current if r.current is not None else "not started",
            numeric=True,
            tooltip="The share-partition start offset: where the group next delivers from",
        ),
        Column(
            "Execute sets",
            lambda r: r.new_text,
            numeric=True,
            tooltip="Exactly the start offset Execute sets for this partition",
        ),
        *ResetPreviewModel.columns[4:],
    )


SHARE_COMMITTED_TIP = (
    "Partitions of this topic with committed offsets; for share groups, with a "
    "share-partition start offset"
)
SHARE_LAG_TIP = (
    "High watermark - committed offset, summed over this topic's partitions; for share "
    "groups, the lag Kafka reports (records not yet acknowledged)"
)


class TopicConsumersModel(RowTableModel[GroupSummary]):
    """Groups with commits on (or assignments of) one topic, share groups with share state on
    it (or members assigned to it); the lag covers that topic only."""

    GROUP, TYPE, STATE, MEMBERS, COMMITTED, LAG, MAX_LAG, NO_COMMIT = range(8)

    columns = (
        Column("Group", lambda g: g.group_id),
        Column("Type", lambda g: g.group_type, tooltip=TYPE_TIP),
        Column("State", lambda g: g.state),
        Column("Members", lambda g: g.members, numeric=True),
        Column(
            "Partitions committed",
            lambda g: sum(1 for p in g.partitions if p.has_commit) if g.offsets_loaded else None,
            numeric=True,
            tooltip=SHARE_COMMITTED_TIP,
        ),
        Column("Lag", lambda g: g.lag_text(g.total_lag), numeric=True, tooltip=SHARE_LAG_TIP),
        Column("Max partition lag", lambda g: g.lag_text(g.max_lag), numeric=True),
        Column(
            "Without a commit",
            lambda g: g.totals.unread_text() if g.offsets_loaded else None,
            tooltip=UNREAD_TIP,
        ),
    )

    def background(self, row: GroupSummary) -> str | None:
        return SHARE_TINT if row.group_type == "share" else None

    def row_key(self, row: GroupSummary) -> Any:
        return row.group_id

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        got = _unread_data(self, index, role)
        return super().data(index, role) if got is None else got
