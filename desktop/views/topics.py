"""Topics: the table with an instant filter, topic operations, and the selected topic's detail."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.cluster import ClusterSnapshot, TopicInfo
from desktop.models.base import ROW_ROLE
from desktop.models.topics import TopicsModel
from desktop.views.topic_detail import TopicDetail
from desktop.views.topic_dialogs import AddPartitionsDialog, ConfirmNameDialog, CreateTopicDialog
from desktop.views.widgets.common import FilterProxy, make_table, set_role
from desktop.views.widgets.feedback import TransientLabel
from desktop.workers.session import ClusterSession


class TopicsPage(QWidget):
    def __init__(self, session: ClusterSession, hide_internal: bool = True) -> None:
        super().__init__()
        self._session = session
        self._snapshot: ClusterSnapshot | None = None
        style = self.style()
        self.model = TopicsModel()
        self.proxy = FilterProxy(TopicsModel.NAME, TopicsModel.INTERNAL)
        self.proxy.setSourceModel(self.model)
        self.proxy.set_hide_internal(hide_internal)
        self.table = make_table(self.proxy, stretch=TopicsModel.NAME)
        for col, width in enumerate((300, 80, 50, 110, 90, 130, 120, 80)):
            self.table.setColumnWidth(col, width)
        self.table.sortByColumn(TopicsModel.NAME, Qt.SortOrder.AscendingOrder)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter topics by name")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.set_filter_text)
        self.hide_internal = QCheckBox("Hide internal topics")
        self.hide_internal.setChecked(hide_internal)
        self.hide_internal.toggled.connect(self.proxy.set_hide_internal)
        self.count = QLabel("")
        set_role(self.count, "muted")
        self.create_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder), "Create…"
        )
        self.create_button.setToolTip("Create a new topic.")
        self.delete_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon), "Delete…"
        )
        self.partitions_button = QPushButton("Add partitions…")
        self.empty_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_DialogResetButton), "Empty…"
        )
        self.message = TransientLabel()
        self.create_button.clicked.connect(self.create_topic)
        self.delete_button.clicked.connect(self.delete_topic)
        self.partitions_button.clicked.connect(self.add_partitions)
        self.empty_button.clicked.connect(self.empty_topic)
        self.proxy.rowsInserted.connect(lambda *_: self._update_count())
        self.proxy.rowsRemoved.connect(lambda *_: self._update_count())
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)

        bar = QHBoxLayout()
        bar.addWidget(self.filter, 2)
        bar.addWidget(self.hide_internal)
        bar.addWidget(self.count)
        bar.addStretch(1)
        for b in (
            self.create_button,
            self.partitions_button,
            self.empty_button,
            self.delete_button,
        ):
            bar.addWidget(b)
        self.detail = TopicDetail(session)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(bar)
        tl.addWidget(self.message)
        tl.addWidget(self.table)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.detail)
        split.setSizes([380, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(split)
        self._update_buttons()

    def set_snapshot(self, s: ClusterSnapshot) -> None:
        self._snapshot = s
        selected = self.selected()
        self.model.set_rows(s.topics)
        if selected is not None:
            self.select(selected.name)
            self.detail.show_topic(s.topic(selected.name))
        self._update_count()

    def _update_count(self) -> None:
        self.count.setText(f"{self.proxy.rowCount():,} of {self.model.rowCount():,} topics")

    def selected(self) -> TopicInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        topic = self.proxy.data(rows[0], ROW_ROLE)
        return topic if isinstance(topic, TopicInfo) else None

    def select(self, name: str) -> bool:
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, TopicsModel.NAME).data() == name:
                if self.table.currentIndex().row() != row:
                    self.table.selectRow(row)
                return True
        return False

    def _selection_changed(self) -> None:
        topic = self.selected()
        self.detail.show_topic(topic)
        self._update_buttons()

    def _update_buttons(self) -> None:
        topic = self.selected()
        for button, verb in (
            (self.delete_button, "Delete the selected topic"),
            (self.partitions_button, "Add partitions to the selected topic"),
            (self.empty_button, "Delete every message of the selected topic, keeping the topic"),
        ):
            button.setEnabled(topic is not None)
            button.setToolTip(
                f"{verb} ('{topic.name}')." if topic else "Select a topic in the table first."
            )

    def _say(self, text: str, error: bool = False) -> None:
        self.message.say(text, error=error)

    def _error(self, text: str) -> None:
        self._say(text, error=True)

    @Slot()
    def create_topic(self) -> None:
        existing = [t.name for t in self._snapshot.topics] if self._snapshot else []
        brokers = len(self._snapshot.brokers) if self._snapshot else 1
        dialog = CreateTopicDialog(existing, brokers, self)
        self.dialog: QDialog | None = dialog  # reachable from tests while it is open

        def accepted() -> None:
            name = dialog.name.text()
            self._session.create_topic(
                name,
                dialog.partitions.value(),
                dialog.replication.value(),
                dialog.configs(),
                on_done=lambda _r: self._say(f"Created topic '{name}'."),
                on_error=self._error,
            )

        dialog.accepted.connect(accepted)
        dialog.open()

    @Slot()
    def delete_topic(self) -> None:
        topic = self.selected()
        if topic is None:
            return
        dialog = ConfirmNameDialog(
            "Delete",
            topic.name,
            f"Deleting '{topic.name}' removes its {topic.messages or 0:,} messages for good.",
            self,
        )
        self.dialog = dialog
        name = topic.name
        dialog.accepted.connect(
            lambda: self._session.delete_topic(
                name, lambda _r: self._say(f"Deleted topic '{name}'."), self._error
            )
        )
        dialog.open()

    @Slot()
    def add_partitions(self) -> None:
        topic = self.selected()
        if topic is None:
            return
        dialog = AddPartitionsDialog(topic.name, topic.partition_count, self)
        self.dialog = dialog
        name = topic.name

        def accepted() -> None:
            total = dialog.total.value()
            self._session.add_partitions(
                name,
                total,
                lambda _r: self._say(f"'{name}' now has {total:,} partitions."),
                self._error,
            )

        dialog.accepted.connect(accepted)
        dialog.open()

    @Slot()
    def empty_topic(self) -> None:
        topic = self.selected()
        if topic is None:
            return
        dialog = ConfirmNameDialog(
            "Empty",
            topic.name,
            f"Emptying '{topic.name}' deletes all {topic.messages or 0:,} messages "
            "(the topic and its configs stay).",
            self,
        )
        self.dialog = dialog
        dialog.accepted.connect(
            lambda: self._session.empty_topic(
                topic, lambda _r: self._say(f"Emptied '{topic.name}'."), self._error
            )
        )
        dialog.open()
