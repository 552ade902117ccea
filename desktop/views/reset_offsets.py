"""Reset a group's offsets (or a share group's start offsets): choose the target, preview
current → new, then execute (Empty only)."""

from __future__ import annotations

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QIntValidator, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.groups import (
    GroupState,
    ResetMode,
    ResetPlan,
    ResetRequest,
    refusal,
    share_refusal,
)
from desktop.models.groups import ResetPreviewModel, ShareResetPreviewModel
from desktop.views.widgets.common import Banner, FilterProxy, hint, make_table, set_role
from desktop.workers.groups import GroupsPoller

MODES = (
    (ResetMode.EARLIEST, "Earliest (log start)"),
    (ResetMode.LATEST, "Latest (log end: skip everything)"),
    (ResetMode.TIMESTAMP, "To a time"),
    (ResetMode.OFFSET, "To a specific offset"),
    (ResetMode.SHIFT, "Shift by ±N"),
)
ALL_TOPICS = "All topics of the group"
HINT = (
    "Preview is a dry run: nothing is written until Execute. New offsets are "
    "clamped to the log's start and end. Execute checks again that the group is "
    "Empty and commits exactly the previewed offsets. As the Kafka CLI, shift-by "
    "and to-offset are refused on partitions without a committed offset."
)
SHARE_HINT = (
    "A share group's start offset is where it next delivers records from. Preview is a dry "
    "run: nothing is written until Execute. New offsets are clamped to the log's start and end. "
    "Kafka applies the change only while the group has no members, and then exactly the "
    "previewed offsets."
)


class ResetOffsetsDialog(QDialog):
    def __init__(
        self,
        poller: GroupsPoller,
        group_id: str,
        *,
        state: str,
        members: int | None,
        topics: dict[str, int],  # topic -> partition count
        preferred_topic: str | None = None,
        share: bool = False,  # a share group (KIP-932): its share-partition start offsets
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.share = share
        what = "share offsets" if share else "offsets"
        self.setWindowTitle(f"Reset {what} of '{group_id}'")
        self.resize(760, 620)
        self.poller = poller
        self.group_id = group_id
        self.state = state
        self.members = members
        self.topics = topics
        self.plan: ResetPlan | None = None
        self.executed: ResetPlan | None = None

        self.refusal = Banner()
        self.topic = QComboBox()
        if share:  # topic "" in the request: every topic the group has offsets for
            self.topic.addItem(ALL_TOPICS, "")
        for name in sorted(topics):
            self.topic.addItem(name, name)
        if preferred_topic in topics:
            self.topic.setCurrentText(preferred_topic)
        self.all_partitions = QCheckBox("All partitions")
        self.all_partitions.setChecked(True)
        self.partition_list = QListWidget()
        self.partition_list.setMaximumHeight(90)
        self.partition_list.setFlow(QListWidget.Flow.LeftToRight)
        self.partition_list.setWrapping(True)
        self.mode = QComboBox()
        for mode, label in MODES:
            if share and mode == ResetMode.SHIFT:
                continue  # as kafka-share-groups: to a position, never relative
            self.mode.addItem(label, mode)
        self.when = QDateTimeEdit(QDateTime.currentDateTime().addSecs(-3600))
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.when.setCalendarPopup(True)
        self.offset = QLineEdit("0")
        self.offset.setValidator(QRegularExpressionValidator(r"\d{1,19}"))
        self.shift = QLineEdit("-100")
        self.shift.setValidator(QIntValidator())
        self.values = QStackedWidget()
        self._pages = {
            ResetMode.EARLIEST: QLabel("The oldest offset still in the log."),
            ResetMode.LATEST: QLabel("The log end: the group skips every unread message."),
            ResetMode.TIMESTAMP: self.when,
            ResetMode.OFFSET: self.offset,
            ResetMode.SHIFT: self.shift,
        }
        for page in self._pages.values():
            self.values.addWidget(page)

        self.preview_button = QPushButton("Preview")
        self.execute_button = QPushButton("Execute")
        self.execute_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        # a refusal runs to three lines: the table gives way, not the message
        self.message.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.model = ShareResetPreviewModel() if share else ResetPreviewModel()
        self.proxy = FilterProxy(0)
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy)
        for col, width in enumerate((130, 65, 85, 210, 65, 70)):
            self.table.setColumnWidth(col, width)

        form = QFormLayout()
        form.addRow("Topic", self.topic)
        form.addRow("Partitions", self.all_partitions)
        form.addRow("", self.partition_list)
        form.addRow("Reset to", self.mode)
        form.addRow("", self.values)
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addStretch(1)
        buttons.addWidget(self.execute_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.refusal)
        layout.addLayout(form)
        layout.addWidget(hint(SHARE_HINT if share else HINT))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

        self.topic.currentIndexChanged.connect(lambda _i: self._fill_partitions(self.topic_name()))
        self.all_partitions.toggled.connect(lambda on: self.partition_list.setEnabled(not on))
        self.all_partitions.toggled.connect(self._invalidate)
        self.partition_list.itemChanged.connect(self._invalidate)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.when.dateTimeChanged.connect(self._invalidate)
        self.offset.textChanged.connect(self._invalidate)
        self.shift.textChanged.connect(self._invalidate)
        self.preview_button.clicked.connect(self.preview)
        self.execute_button.clicked.connect(self.execute)
        self.close_button.clicked.connect(self.reject)
        self._fill_partitions(self.topic_name())
        self.partition_list.setEnabled(False)
        self._show_state(state, members)
        # the listed state may be a refresh old: ask the broker now
        poller.group_state(group_id, lambda sm: self._show_state(*sm), self._say_error, share=share)

    def topic_name(self) -> str:
        """The chosen topic; "" for all the share group's topics."""
        return str(self.topic.currentData() or "")

    def _show_state(self, state: str, members: int | None) -> None:
        self.state, self.members = state, members
        if state == GroupState.EMPTY:
            self.refusal.setVisible(False)
        else:
            self.refusal.show_message(
                share_refusal(self.group_id, members)
                if self.share
                else refusal(self.group_id, state, members)
            )
        self._update_execute()

    def _fill_partitions(self, topic: str) -> None:
        self.partition_list.clear()
        # all topics: every partition of each (their counts differ)
        self.all_partitions.setEnabled(bool(topic))
        if not topic:
            self.all_partitions.setChecked(True)
        for p in range(self.topics.get(topic, 0)):
            item = QListWidgetItem(str(p))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.partition_list.addItem(item)
        self._invalidate()

    def _mode_changed(self) -> None:
        self.values.setCurrentWidget(self._pages[self.current_mode()])
        self._invalidate()

    def current_mode(self) -> ResetMode:
        mode = self.mode.currentData()
        return ResetMode(mode)

    def chosen_partitions(self) -> tuple[int, ...]:
        if self.all_partitions.isChecked():
            return ()
        items = (self.partition_list.item(i) for i in range(self.partition_list.count()))
        return tuple(int(i.text()) for i in items if i.checkState() == Qt.CheckState.Checked)

    def request(self) -> ResetRequest | None:
        mode = self.current_mode()
        value = 0
        if mode == ResetMode.TIMESTAMP:
            value = self.when.dateTime().toMSecsSinceEpoch()
        elif mode == ResetMode.OFFSET:
            if not self.offset.text():
                return None
            value = int(self.offset.text())
        elif mode == ResetMode.SHIFT:
            try:
                value = int(self.shift.text())
            except ValueError:
                return None
        parts = self.chosen_partitions()
        if not self.all_partitions.isChecked() and not parts:
            return None
        return ResetRequest(self.group_id, self.topic_name(), parts, mode, value, self.share)

    def _invalidate(self) -> None:
        self.plan = None
        self.model.set_rows([])
        self._update_execute()

    def _update_execute(self) -> None:
        self.execute_button.setEnabled(
            self.plan is not None and self.plan.allowed and self.state == GroupState.EMPTY
        )

    def _say(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)

    def _say_error(self, text: str) -> None:
        set_role(self.message, "error")
        self.message.setText(text)

    def preview(self) -> None:
        req = self.request()
        if req is None:
            self._say_error("Choose at least one partition and a valid value.")
            return
        self._say("Computing the preview…")
        self.preview_button.setEnabled(False)

        def done(plan: ResetPlan) -> None:
            self.preview_button.setEnabled(True)
            if plan.request != self.request():
                return  # the inputs changed meanwhile
            if (
                plan.request.topic and not self.partition_list.count()
            ):  # a topic the cluster view has not seen yet
                self.topics[plan.request.topic] = len(plan.rows)
                self.partition_list.blockSignals(True)
                self._fill_partitions(plan.request.topic)
                self.partition_list.blockSignals(False)
            self.plan = plan
            self.model.set_rows(list(plan.rows))
            self._show_state(plan.state, self.members)
            moved = sum(1 for r in plan.rows if r.change != 0)
            if plan.refused:
                self._say_error(plan.refused_text())
            elif plan.allowed:
                self._say(f"Preview: {moved:,} of {len(plan.rows):,} partition(s) change.")
            else:
                self._say_error(
                    "Preview only: the group has members, so Execute is disabled. Stop the "
                    "group's consumers first."
                    if self.share
                    else "Preview only: the group is not Empty, so Execute is disabled."
                )

        def failed(message: str) -> None:
            self.preview_button.setEnabled(True)
            self._say_error(message)

        self.poller.plan_reset(req, done, failed)

    def execute(self) -> None:
        plan = self.plan
        if plan is None:
            return
        self.execute_button.setEnabled(False)
        self._say("Checking the group state and committing…")

        def done(result: ResetPlan) -> None:
            # the rows come back with Current read from the broker after the commit
            self.executed = result
            if self.plan is plan:
                self.plan = None
                self.model.set_rows(list(result.rows))
                self._update_execute()
            what = "share start offset(s)" if self.share else "offset(s)"
            self._say(
                f"Committed {len(result.rows):,} {what} for '{self.group_id}'; Current shows "
                "the offsets read back from the broker."
            )

        def failed(message: str) -> None:
            self._say_error(message)
            self.poller.group_state(
                self.group_id, lambda sm: self._show_state(*sm), lambda _m: None, share=self.share
            )

        self.poller.execute_reset(plan, done, failed)
