"""Security screen test bodies, shared by the built-in broker and real Kafka's authorizer node."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka.admin import AclBindingFilter, AdminClient
from confluent_kafka.admin import AclOperation as Op
from confluent_kafka.admin import AclPermissionType as Perm
from confluent_kafka.admin import ResourcePatternType as Pat
from confluent_kafka.admin import ResourceType as Res
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from desktop.domain.acl import Operation, PatternKind, Permission, ResourceKind
from desktop.domain.profile import ClusterProfile, Credentials, SaslMechanism, SecurityProtocol
from desktop.views.security import SecurityPage
from desktop.workers.session import ClusterSession
from tests.gui.helpers import click_row

WAIT_MS = 30_000
ClientConfig = dict[str, str | int | float | bool]


def sasl_session(bootstrap: str, who: tuple[str, str]) -> ClusterSession:
    profile = ClusterProfile(
        "secured",
        bootstrap,
        SecurityProtocol.SASL_PLAINTEXT,
        SaslMechanism.SCRAM_SHA_512,
        who[0],
    )
    return ClusterSession(profile, Credentials(password=who[1]), refresh_s=3600)


@contextmanager
def security_page(qtbot: QtBot, session: ClusterSession) -> Iterator[SecurityPage]:
    page = SecurityPage(session)
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()  # the first show lists ACLs and users
    try:
        yield page
    finally:
        session.close()


def click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def server_bindings(admin: ClientConfig, name: str) -> set[tuple[str, str, str, str]]:
    """(name, pattern, operation, permission) of the bindings on topic names containing `name`,
    as the cluster itself answers (not through the app)."""
    flt = AclBindingFilter(Res.TOPIC, None, Pat.ANY, None, None, Op.ANY, Perm.ANY)
    client = AdminClient(admin)  # kept referenced: a collected client cancels its futures
    found = client.describe_acls(flt).result(15)
    return {
        (b.name, b.resource_pattern_type.name, b.operation.name, b.permission_type.name)
        for b in found
        if name in b.name
    }


def check_acl_screen(qtbot: QtBot, page: SecurityPage, admin: ClientConfig) -> None:
    """Create two bindings through the form, check a principal's rights, delete one with a
    preview, and see that the cluster holds exactly what the screen said."""
    acls = page.acls
    qtbot.waitUntil(lambda: acls.loaded, timeout=WAIT_MS)
    assert not acls.banner.isVisible(), acls.banner.text()
    prefix = f"sec-{uuid.uuid4().hex[:6]}."
    form = acls.form
    form.principal.setText("User:bob")
    assert not form.create_button.isEnabled()  # no resource name yet: nothing to send
    form.name.setText(prefix)
    form.pattern.setCurrentText(PatternKind.PREFIXED.value)
    form.operation.setCurrentText(Operation.WRITE.value)
    assert form.preview.text() == (
        f"allow User:bob from any host to WRITE on every topic whose name starts with '{prefix}'"
    )
    click(qtbot, form.create_button)
    qtbot.waitUntil(lambda: any(a.name == prefix for a in acls.model.rows), timeout=WAIT_MS)

    form.name.setText(f"{prefix}secret")
    form.pattern.setCurrentText(PatternKind.LITERAL.value)
    form.permission.setCurrentText(Permission.DENY.value)
    assert form.preview.text().startswith("DENY User:bob")
    click(qtbot, form.create_button)
    qtbot.waitUntil(
        lambda: any(a.name == f"{prefix}secret" for a in acls.model.rows), timeout=WAIT_MS
    )
    assert server_bindings(admin, prefix) == {
        (prefix, "PREFIXED", "WRITE", "ALLOW"),
        (f"{prefix}secret", "LITERAL", "WRITE", "DENY"),
    }

    # the filter by principal, type, name and pattern narrows the list to one binding
    acls.filter.principal.setText("User:bob")
    acls.filter.resource.setCurrentText(ResourceKind.TOPIC.value)
    acls.filter.name.setText(prefix)
    acls.filter.pattern.setCurrentText(PatternKind.PREFIXED.value)
    click(qtbot, acls.list_button)
    qtbot.waitUntil(lambda: not acls.busy and len(acls.model.rows) == 1, timeout=WAIT_MS)
    assert click_row(qtbot, acls.table, 2, prefix)

    rights = page.rights
    page.tabs.setCurrentWidget(rights)
    rights.principal.setText("User:bob")
    rights.topic.setText(f"{prefix}secret")
    click(qtbot, rights.check_button)
    qtbot.waitUntil(lambda: len(rights.model.rows) == 8, timeout=WAIT_MS)
    verdict = {d.operation: d.allowed for d in rights.model.rows}
    assert verdict[Operation.WRITE] is False  # the literal DENY beats the prefixed ALLOW
    assert verdict[Operation.DESCRIBE] is True  # implied by the prefixed WRITE
    rights.topic.setText(f"{prefix}open")
    click(qtbot, rights.check_button)
    qtbot.waitUntil(
        lambda: any(d.operation is Operation.WRITE and d.allowed for d in rights.model.rows),
        timeout=WAIT_MS,
    )
    assert "WRITE" in rights.summary.text()

    # delete: the preview lists exactly the prefixed binding; the literal DENY stays
    page.tabs.setCurrentWidget(acls)
    click(qtbot, acls.delete_button)
    qtbot.waitUntil(acls.confirm_button.isVisible, timeout=WAIT_MS)
    assert [a.name for a in acls.to_delete] == [prefix]
    assert "every topic whose name starts with" in acls.delete_preview.text()
    assert "DENY" not in acls.delete_preview.text()
    click(qtbot, acls.confirm_button)
    qtbot.waitUntil(lambda: not acls.busy and not acls.model.rows, timeout=WAIT_MS)
    assert server_bindings(admin, prefix) == {(f"{prefix}secret", "LITERAL", "WRITE", "DENY")}


def check_users_screen(qtbot: QtBot, page: SecurityPage, bootstrap: str) -> None:
    """Add a SCRAM user, log in as them, change the password, delete them."""
    users = page.users
    page.tabs.setCurrentWidget(users)
    qtbot.waitUntil(lambda: users.loaded, timeout=WAIT_MS)
    assert not users.banner.isVisible(), users.banner.text()
    name = f"carol-{uuid.uuid4().hex[:6]}"
    first, second = "first-Secret-1", "second-Secret-2"
    users.user.setText(name)
    users.iterations.setValue(8192)
    users.password.setText(first)
    users.repeat.setText("typo")
    click(qtbot, users.save_button)
    assert users.form_problem.text() == "The two passwords differ."
    users.repeat.setText(first)
    click(qtbot, users.save_button)
    assert users.password.text() == ""  # not kept in the form once sent
    qtbot.waitUntil(lambda: any(u.name == name for u in users.model.rows), timeout=WAIT_MS)
    row = next(u for u in users.model.rows if u.name == name)
    assert row.credentials == (("SCRAM-SHA-512", 8192),)
    assert can_log_in(bootstrap, name, first)

    assert click_row(qtbot, users.table, 0, name)
    assert users.user.text() == name
    users.password.setText(second)
    users.repeat.setText(second)
    click(qtbot, users.save_button)
    qtbot.waitUntil(lambda: not users.busy, timeout=WAIT_MS)
    assert not users.banner.isVisible(), users.banner.text()
    assert can_log_in(bootstrap, name, second)

    assert click_row(qtbot, users.table, 0, name)
    click(qtbot, users.delete_button)
    assert name in users.delete_preview.text()
    click(qtbot, users.confirm_button)
    qtbot.waitUntil(
        lambda: not users.busy and all(u.name != name for u in users.model.rows), timeout=WAIT_MS
    )


def can_log_in(bootstrap: str, user: str, password: str) -> bool:
    conf: ClientConfig = {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": user,
        "sasl.password": password,
    }
    try:
        client = AdminClient(conf)
        client.list_topics(timeout=10)
    except Exception:
        return False
    return True


def check_not_allowed(qtbot: QtBot, page: SecurityPage, user: str) -> None:
    """A user who may not Describe the cluster is told who they are and what they lack, on both
    lists (and the app survives: a refused user list once aborted the process in librdkafka)."""
    for panel in (page.acls, page.users):
        qtbot.waitUntil(lambda p=panel: not p.banner.isHidden(), timeout=WAIT_MS)
        text = panel.banner.text()
        assert f"User:{user}" in text and "DESCRIBE" in text and "CLUSTER" in text, text
