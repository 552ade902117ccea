"""Replication health: problem partitions, per-broker skew, and where replicas live."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QTabWidget, QVBoxLayout, QWidget

from desktop.domain.cluster import ClusterSnapshot, ReplicaState, TopicInfo
from desktop.domain.health import summarize
from desktop.models.health import (
    BrokerLoadModel,
    GridRow,
    ProblemPartitionsModel,
    ProblemRow,
    ReplicaGridModel,
)
from desktop.views.election import ElectionPanel
from desktop.views.widgets.common import Badge, FilterProxy, heading, hint, make_table
from desktop.workers.session import ClusterSession

GRID_ROW_LIMIT = 5000


class ReplicationPage(QWidget):
    def __init__(self, session: ClusterSession | None = None) -> None:
        super().__init__()
        self.badges = {
            "under": Badge("under-replicated: —"),
            "min_isr": Badge("under min ISR: —"),
            "leaderless": Badge("leaderless: —"),
            "skew": Badge("leader skew: —"),
        }
        badge_row = QHBoxLayout()
        for b in self.badges.values():
            badge_row.addWidget(b)
        badge_row.addStretch(1)
        self.problems = ProblemPartitionsModel()
        self.problems_proxy = FilterProxy(0)
        self.problems_proxy.setSourceModel(self.problems)
        self.problem_table = make_table(self.problems_proxy)
        for col, width in enumerate((220, 80, 200, 70, 110)):
            self.problem_table.setColumnWidth(col, width)
        self.loads = BrokerLoadModel()
        self.loads_proxy = FilterProxy(0)
        self.loads_proxy.setSourceModel(self.loads)
        self.load_table = make_table(self.loads_proxy)
        for col, width in enumerate((70, 80, 80)):
            self.load_table.setColumnWidth(col, width)
        self.grid = ReplicaGridModel()
        self.grid_proxy = FilterProxy(0)
        self.grid_proxy.setSourceModel(self.grid)
        self.grid_table = make_table(self.grid_proxy)
        self.grid_table.horizontalHeader().setDefaultSectionSize(80)
        self.grid_note = hint("L = leader · R = in-sync replica · r! = replica out of sync")

        tabs = QTabWidget()
        self.tabs = tabs
        problems_page = QWidget()
        pl = QVBoxLayout(problems_page)
        pl.setContentsMargins(0, 4, 0, 0)
        pl.addWidget(self.problem_table)
        tabs.addTab(problems_page, "Problem partitions")
        grid_page = QWidget()
        gl = QVBoxLayout(grid_page)
        gl.setContentsMargins(0, 4, 0, 0)
        gl.addWidget(self.grid_table)
        gl.addWidget(self.grid_note)
        tabs.addTab(grid_page, "Broker x partition")
        self.election = ElectionPanel(session) if session is not None else None
        if self.election is not None:
            tabs.addTab(self.election, "Preferred leaders")

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(heading("Leaders and replicas per broker"))
        ll.addWidget(self.load_table)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(tabs)
        split.setSizes([360, 700])
        self._latest: ClusterSnapshot | None = None
        self._known: list[int] = []
        self._down: frozenset[int] = frozenset()
        self._grid_of: ClusterSnapshot | None = None
        # each topic's grid rows, kept while the worker hands back the same (unchanged) topic
        self._grid_rows: dict[str, tuple[TopicInfo, list[GridRow]]] = {}
        self._grid_page = grid_page
        tabs.currentChanged.connect(lambda _i: self._update_grid())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(badge_row)
        layout.addWidget(split)

    def set_brokers(self, known: list[int], down: frozenset[int]) -> None:
        """Every broker seen this session keeps its grid column; `down` ones are marked."""
        if known == self._known and down == self._down:
            return
        self._known, self._down = known, down
        # hidden: the next snapshot shown brings them (a 5,000-row grid is not rebuilt unseen)
        if self._latest is not None and self.isVisible():
            self._grid_of = None
            self.set_snapshot(self._latest)

    def _grid_brokers(self, s: ClusterSnapshot) -> list[int]:
        return sorted(set(self._known) | {b.id for b in s.brokers})

    def _update_grid(self) -> None:
        """The grid is the costliest table here; it is built only while it is shown."""
        s = self._latest
        if s is None or s is self._grid_of or self.tabs.currentWidget() is not self._grid_page:
            return
        self._grid_of = s
        rows: list[GridRow] = []
        kept: dict[str, tuple[TopicInfo, list[GridRow]]] = {}
        for t in s.topics:
            known = self._grid_rows.get(t.name)
            mine = known[1] if known is not None and known[0] is t else None
            if mine is None:
                mine = [GridRow(p, t.min_isr) for p in t.partitions]
            kept[t.name] = (t, mine)
            rows.extend(mine)
            if len(rows) >= GRID_ROW_LIMIT:
                break
        self._grid_rows = kept
        self.grid.set_grid(self._grid_brokers(s), rows[:GRID_ROW_LIMIT], self._down)

    def set_snapshot(self, s: ClusterSnapshot) -> None:
        self._latest = s
        h = summarize(s)
        min_isr = {t.name: t.min_isr for t in s.topics}
        rows: list[ProblemRow] = []
        for p in h.leaderless:
            rows.append(ProblemRow(p, "no leader (offline)", ReplicaState.CRITICAL))
        for p in h.under_min_isr:
            rows.append(
                ProblemRow(
                    p,
                    f"ISR {len(p.isr)} below min.insync.replicas {min_isr[p.topic]}",
                    ReplicaState.CRITICAL,
                )
            )
        crit = {(r.partition.topic, r.partition.partition) for r in rows}
        for p in h.under_replicated:
            if (p.topic, p.partition) not in crit:
                rows.append(
                    ProblemRow(
                        p,
                        f"under-replicated: ISR {len(p.isr)} of {len(p.replicas)}",
                        ReplicaState.UNDER_REPLICATED,
                    )
                )
        self.problems.set_rows(rows)
        self.loads.set_rows(h.loads)
        # the grid's columns follow every snapshot (a broker seen, a broker down); its rows, the
        # costliest table here, are built only while the grid is shown
        self._update_grid()
        if self._grid_of is not s:
            self.grid.set_grid(self._grid_brokers(s), self.grid.rows, self._down)
        n_under, n_min, n_lead = len(h.under_replicated), len(h.under_min_isr), len(h.leaderless)
        self.badges["under"].setText(f"under-replicated: {n_under}")
        self.badges["under"].set_kind("warn" if n_under else "ok")
        self.badges["min_isr"].setText(f"under min ISR: {n_min}")
        self.badges["min_isr"].set_kind("bad" if n_min else "ok")
        self.badges["leaderless"].setText(f"leaderless: {n_lead}")
        self.badges["leaderless"].set_kind("bad" if n_lead else "ok")
        self.badges["skew"].setText(
            f"leader skew: {h.leader_skew} · replica skew: {h.replica_skew}"
        )
        self.badges["skew"].set_kind("warn" if h.leader_skew > 1 else "ok")
