"""The ACL panel: a filtered list, a create form with a preview, a delete with a preview."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from desktop.domain.acl import (
    ANY_HOST,
    AclEntry,
    AclFilter,
    Operation,
    PatternKind,
    Permission,
    ResourceKind,
)
from desktop.models.security import AclsModel
from desktop.views.security_panel import SecurityPanel
from desktop.workers.security import SecurityJobs

ANY = "any"
CLUSTER_NAME = "kafka-cluster"  # the one name a CLUSTER binding can have


def _combo(values: list[str]) -> QComboBox:
    box = QComboBox()
    box.addItems(values)
    return box


class AclFilterBar(QWidget):
    """Principal, resource type, name and pattern: what is listed, and what a delete removes."""

    def __init__(self) -> None:
        super().__init__()
        self.principal = QLineEdit()
        self.principal.setPlaceholderText("User:alice")
        self.resource = _combo([ANY, *[k.value for k in ResourceKind]])
        self.name = QLineEdit()
        self.name.setPlaceholderText("resource name (exact)")
        self.pattern = _combo([ANY, *[p.value for p in PatternKind]])
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for label, w in (
            ("Principal", self.principal),
            ("Type", self.resource),
            ("Name", self.name),
            ("Pattern", self.pattern),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(w, 1 if isinstance(w, QLineEdit) else 0)

    def value(self) -> AclFilter:
        r, p = self.resource.currentText(), self.pattern.currentText()
        return AclFilter(
            principal=self.principal.text().strip(),
            resource=None if r == ANY else ResourceKind(r),
            name=self.name.text().strip(),
            pattern=None if p == ANY else PatternKind(p),
        )


class AclForm(QGroupBox):
    """A new binding, shown in words before it is sent."""

    def __init__(self) -> None:
        super().__init__("New binding")
        self.principal = QLineEdit()
        self.principal.setPlaceholderText("User:bob")
        self.host = QLineEdit(ANY_HOST)
        self.resource = _combo([k.value for k in ResourceKind])
        self.name = QLineEdit()
        self.name.setPlaceholderText("orders, or a prefix such as orders.")
        self.pattern = _combo([p.value for p in PatternKind])
        self.operation = _combo([o.value for o in Operation])
        self.permission = _combo([p.value for p in Permission])
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.create_button = QPushButton("Create binding")
        form = QFormLayout(self)
        form.addRow("Principal", self.principal)
        form.addRow("Host", self.host)
        form.addRow("Resource type", self.resource)
        form.addRow("Resource name", self.name)
        form.addRow("Pattern", self.pattern)
        form.addRow("Operation", self.operation)
        form.addRow("Permission", self.permission)
        form.addRow("Preview", self.preview)
        form.addRow(self.create_button)
        for edit in (self.principal, self.host, self.name):
            edit.textChanged.connect(self.update_preview)
        for box in (self.resource, self.pattern, self.operation, self.permission):
            box.currentTextChanged.connect(self.update_preview)
        self.update_preview()

    def problem(self) -> str:
        principal = self.principal.text().strip()
        if ":" not in principal or principal.endswith(":"):
            return "The principal is a type and a name, such as User:bob (or User:* for anyone)."
        if not self.name.text().strip() and self.resource.currentText() != "CLUSTER":
            return "Name the resource (or * for every one of this type)."
        if not self.host.text().strip():
            return "Give a host, or * for any host."
        return ""

    def value(self) -> AclEntry | None:
        if self.problem():
            return None
        kind = ResourceKind(self.resource.currentText())
        return AclEntry(
            principal=self.principal.text().strip(),
            resource=kind,
            name=CLUSTER_NAME if kind is ResourceKind.CLUSTER else self.name.text().strip(),
            pattern=PatternKind(self.pattern.currentText()),
            operation=Operation(self.operation.currentText()),
            permission=Permission(self.permission.currentText()),
            host=self.host.text().strip(),
        )

    @Slot()
    def update_preview(self) -> None:
        acl = self.value()
        self.preview.setText(acl.describe() if acl is not None else self.problem())
        self.create_button.setEnabled(acl is not None)


class AclsPanel(SecurityPanel[AclEntry]):
    """The ACL list of one cluster, with create, delete and the topic-rights check beside it."""

    def __init__(self, jobs: SecurityJobs) -> None:
        super().__init__(jobs, AclsModel())
        self.filter = AclFilterBar()
        self.list_button = QPushButton("List")
        self.list_button.clicked.connect(self.reload)
        self.filter.principal.returnPressed.connect(self.reload)
        self.filter.name.returnPressed.connect(self.reload)
        self.delete_button = QPushButton("Delete matching…")
        self.delete_button.setToolTip(
            "Lists what the filter matches first; nothing goes until you confirm"
        )
        self.delete_button.clicked.connect(self.preview_delete)
        self.delete_preview = QLabel()
        self.delete_preview.setWordWrap(True)
        self.confirm_button = QPushButton("Delete these bindings")
        self.cancel_button = QPushButton("Keep them")
        self.confirm_button.clicked.connect(self.confirm_delete)
        self.cancel_button.clicked.connect(self.clear_preview)
        self.to_delete: tuple[AclEntry, ...] = ()
        self.form = AclForm()
        self.form.create_button.clicked.connect(self.create_binding)

        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.list_button)
        actions = QHBoxLayout()
        actions.addWidget(self.status, 1)
        actions.addWidget(self.delete_button)
        confirm = QHBoxLayout()
        confirm.addWidget(self.delete_preview, 1)
        confirm.addWidget(self.confirm_button)
        confirm.addWidget(self.cancel_button)
        self.lay_out(top, (actions, confirm), self.form)
        self.clear_preview()

    @Slot()
    def reload(self) -> None:
        self.busy = True
        self.status.setText("Listing ACLs…")
        self.jobs.list_acls(self.filter.value(), self._listed, self._failed)

    def _listed(self, acls: tuple[AclEntry, ...]) -> None:
        noun = "binding" if len(acls) == 1 else "bindings"
        self._show_rows(acls, f"{len(acls)} {noun}")

    @Slot()
    def create_binding(self) -> None:
        acl = self.form.value()
        if acl is None:
            return
        self.busy = True
        self.status.setText("Creating…")
        self.jobs.create_acl(acl, self._created, self._failed)

    def _created(self, acl: AclEntry) -> None:
        self.status.setText(f"Created: {acl.describe()}")
        self.reload()

    @Slot()
    def preview_delete(self) -> None:
        self.busy = True
        self.clear_preview()
        self.status.setText("Finding what the filter matches…")
        self.jobs.list_acls(self.filter.value(), self._show_preview, self._failed)

    def _show_preview(self, acls: tuple[AclEntry, ...]) -> None:
        self.busy = False
        self.banner.setVisible(False)
        self.status.setText("")
        self.to_delete = acls
        if not acls:
            self.delete_preview.setText("The filter matches no binding: nothing to delete.")
            self.delete_preview.setVisible(True)
            return
        lines = "<br>".join(f"• {a.describe()}" for a in acls)
        head = f"<b>These {len(acls)} binding(s) will be deleted:</b>"
        self.delete_preview.setText(f"{head}<br>{lines}")
        self.confirm_button.setText(f"Delete these {len(acls)}")
        for w in (self.delete_preview, self.confirm_button, self.cancel_button):
            w.setVisible(True)

    @Slot()
    def confirm_delete(self) -> None:
        acls = self.to_delete
        self.clear_preview()
        self.busy = True
        self.jobs.delete_acls(acls, self._deleted, self._failed)

    def _deleted(self, gone: tuple[AclEntry, ...]) -> None:
        self.status.setText(f"Deleted {len(gone)} binding(s)")
        self.reload()

    @Slot()
    def clear_preview(self) -> None:
        self.to_delete = ()
        for w in (self.delete_preview, self.confirm_button, self.cancel_button):
            w.setVisible(False)
