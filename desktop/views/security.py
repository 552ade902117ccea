"""The Security screen of a cluster: ACLs, SCRAM users, and one principal's rights on a topic."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.acl import ANY_HOST, Decision
from desktop.models.security import RightsModel
from desktop.views.security_acls import AclsPanel
from desktop.views.security_users import UsersPanel
from desktop.views.widgets.common import Banner, FilterProxy, hint, make_table
from desktop.workers.security import SecurityJobs
from desktop.workers.session import ClusterSession


class RightsPanel(QWidget):
    """What a principal may do on a topic, computed from the bindings the app can describe."""

    def __init__(self, jobs: SecurityJobs) -> None:
        super().__init__()
        self.jobs = jobs
        self.busy = False
        self.banner = Banner()
        self.principal = QLineEdit()
        self.principal.setPlaceholderText("User:bob")
        self.topic = QLineEdit()
        self.topic.setPlaceholderText("orders")
        self.host = QLineEdit(ANY_HOST)
        self.host.setMaximumWidth(140)
        self.check_button = QPushButton("Check")
        self.check_button.clicked.connect(self.check)
        self.model = RightsModel()
        self.proxy = FilterProxy()
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy)
        self.table.setSortingEnabled(False)
        self.table.setColumnWidth(1, 80)
        self.table.setColumnWidth(2, 300)  # "denied by a DENY binding (deny wins)" in full
        self.summary = QLabel()
        row = QHBoxLayout()
        for label, w in (("Principal", self.principal), ("Topic", self.topic), ("Host", self.host)):
            row.addWidget(QLabel(label))
            row.addWidget(w, 1)
        row.addWidget(self.check_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(
            hint(
                "Kafka's rules: a DENY wins over any ALLOW; literal, prefixed and * bindings "
                "match; ALL and the implied operations (READ, WRITE, DELETE or ALTER allow "
                "DESCRIBE; ALTER_CONFIGS allows DESCRIBE_CONFIGS) count. Super users "
                "(super.users) may do everything, and the app cannot see who they are."
            )
        )

    @Slot()
    def check(self) -> None:
        principal, topic = self.principal.text().strip(), self.topic.text().strip()
        if ":" not in principal or not topic:
            self.banner.show_message("Give a principal such as User:bob and a topic name.", "warn")
            return
        self.busy = True
        host = self.host.text().strip() or ANY_HOST

        def done(rights: tuple[Decision, ...]) -> None:
            self.busy = False
            self.banner.setVisible(False)
            self.model.set_rows(rights)
            allowed = [d.operation.value for d in rights if d.allowed]
            self.summary.setText(
                f"{principal} on topic '{topic}': "
                + (", ".join(allowed) if allowed else "nothing (no binding allows any operation)")
            )

        self.jobs.topic_rights(principal, topic, host, done, self._failed)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.banner.show_message(message)


class SecurityPage(QWidget):
    """ACLs, SCRAM users and the rights check; loads when first shown, not with every refresh."""

    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self.jobs = SecurityJobs(session)
        self.acls = AclsPanel(self.jobs)
        self.users = UsersPanel(self.jobs)
        self.rights = RightsPanel(self.jobs)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.acls, "ACLs")
        self.tabs.addTab(self.users, "SCRAM users")
        self.tabs.addTab(self.rights, "Check a principal")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.tabs)
        self._asked = False

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._asked:
            self._asked = True
            self.acls.reload()
            self.users.reload()
