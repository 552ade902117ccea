"""The Security screens against real Kafka's StandardAuthorizer node (the harness's kafka_acl)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.security import NO_AUTHORIZER
from desktop.workers.session import ClusterSession
from tests.gui.security_support import (
    WAIT_MS,
    check_acl_screen,
    check_not_allowed,
    check_users_screen,
    sasl_session,
    security_page,
)
from tests.kafka.fixtures import KafkaAcl, KafkaSingle

pytestmark = pytest.mark.realkafka


def test_acl_screen_on_real_kafka(qtbot: QtBot, kafka_acl: KafkaAcl) -> None:
    with security_page(qtbot, sasl_session(kafka_acl.bootstrap, kafka_acl.admin)) as page:
        check_acl_screen(qtbot, page, kafka_acl.client_config(kafka_acl.admin))


def test_scram_users_screen_on_real_kafka(qtbot: QtBot, kafka_acl: KafkaAcl) -> None:
    with security_page(qtbot, sasl_session(kafka_acl.bootstrap, kafka_acl.admin)) as page:
        check_users_screen(qtbot, page, kafka_acl.bootstrap)


def test_a_user_without_cluster_describe_on_real_kafka(qtbot: QtBot, kafka_acl: KafkaAcl) -> None:
    with security_page(qtbot, sasl_session(kafka_acl.bootstrap, kafka_acl.user)) as page:
        check_not_allowed(qtbot, page, kafka_acl.user[0])


def test_no_authorizer_is_said_plainly_on_real_kafka(
    qtbot: QtBot, kafka_single: KafkaSingle
) -> None:
    session = ClusterSession(ClusterProfile("plain", kafka_single.bootstrap), Credentials(), 3600)
    with security_page(qtbot, session) as page:
        qtbot.waitUntil(page.acls.banner.isVisible, timeout=WAIT_MS)
        assert page.acls.banner.text() == NO_AUTHORIZER
