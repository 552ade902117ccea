"""The Security screens against the built-in broker: with an authorizer, and without one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.views.cluster_view import ClusterView
from desktop.views.main_window import MainWindow
from embedded_broker.runner import BrokerRunner
from tests.broker_fixtures import RunningBroker
from tests.gui.security_support import (
    WAIT_MS,
    check_acl_screen,
    check_not_allowed,
    check_users_screen,
    sasl_session,
    security_page,
)
from tests.integration.security.test_acl_clients import ADMIN, USER, client, start_acl_broker


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    runner = start_acl_broker(tmp_path_factory.mktemp("gui-acl-broker"))
    yield runner
    runner.stop()


def sasl_bootstrap(runner: BrokerRunner) -> str:
    return runner.listeners["SASL_PLAINTEXT"].bootstrap


def test_acl_screen_lists_creates_checks_and_deletes(
    qtbot: QtBot, acl_broker: BrokerRunner
) -> None:
    with security_page(qtbot, sasl_session(sasl_bootstrap(acl_broker), ADMIN)) as page:
        check_acl_screen(qtbot, page, client(acl_broker, ADMIN))


def test_scram_users_screen(qtbot: QtBot, acl_broker: BrokerRunner) -> None:
    bootstrap = sasl_bootstrap(acl_broker)
    with security_page(qtbot, sasl_session(bootstrap, ADMIN)) as page:
        check_users_screen(qtbot, page, bootstrap)


def test_a_user_without_cluster_describe_is_told_what_is_missing(
    qtbot: QtBot, acl_broker: BrokerRunner
) -> None:
    with security_page(qtbot, sasl_session(sasl_bootstrap(acl_broker), USER)) as page:
        check_not_allowed(qtbot, page, USER[0])


def test_no_authorizer_is_said_plainly(
    qtbot: QtBot, window: MainWindow, builtin_broker: RunningBroker, tmp_path: Path
) -> None:
    view = window.open_cluster(ClusterProfile("plain", builtin_broker.bootstrap), Credentials())
    assert isinstance(view, ClusterView)
    view.tabs.setCurrentWidget(view.security)
    acls = view.security.acls
    qtbot.waitUntil(acls.banner.isVisible, timeout=WAIT_MS)
    assert "this cluster has no authorizer (authorizer.class.name is not set)" in (
        acls.banner.text().lower()
    )
    assert "ACLs can't be listed or changed" in acls.banner.text()
