"""The Security tables pass Qt's model checks, and tinted rows keep dark text in any theme."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from desktop.domain.acl import (
    AclEntry,
    Operation,
    PatternKind,
    Permission,
    ResourceKind,
    ScramUser,
    topic_rights,
)
from desktop.models.security import INK, AclsModel, RightsModel, UsersModel

ACLS = (
    AclEntry(
        "User:bob",
        ResourceKind.TOPIC,
        "o.",
        PatternKind.PREFIXED,
        Operation.WRITE,
        Permission.ALLOW,
    ),
    AclEntry(
        "User:bob", ResourceKind.TOPIC, "o.x", PatternKind.LITERAL, Operation.WRITE, Permission.DENY
    ),
)


def test_models_pass_the_model_tester(qtmodeltester: ModelTester) -> None:
    acls, users, rights = AclsModel(), UsersModel(), RightsModel()
    acls.set_rows(ACLS)
    users.set_rows([ScramUser("alice", (("SCRAM-SHA-256", 4096), ("SCRAM-SHA-512", 8192)))])
    rights.set_rows(topic_rights(ACLS, "User:bob", "o.x"))
    for model in (acls, users, rights):
        qtmodeltester.check(model)
    assert users.index(0, 1).data() == "SCRAM-SHA-256, SCRAM-SHA-512"
    assert users.index(0, 2).data() == "4096, 8192"


def test_deny_rows_are_tinted_with_dark_text() -> None:
    model = AclsModel()
    model.set_rows(ACLS)
    deny = next(r for r in range(2) if model.index(r, 5).data() == "DENY")
    allow = 1 - deny
    assert model.index(deny, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert model.index(deny, 0).data(Qt.ItemDataRole.ForegroundRole) == INK
    assert model.index(allow, 0).data(Qt.ItemDataRole.ForegroundRole) is None
