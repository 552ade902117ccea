"""Produce errors that name the cause, and the acks selector that explains itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from pytestqt.qtbot import QtBot

from desktop.services.produce import ACKS_HELP, FORM_TIMEOUT_S, PartitionHealth, failure_text
from desktop.views.producer import ProducerPage
from desktop.workers.session import ClusterSession
from tests.gui.messages_support import (
    WAIT_MS,
    click,
    make_session,
    producer_page_fixture,  # noqa: F401 (a fixture)
    session_fixture,  # noqa: F401 (a fixture)
    type_text,
    wait_topic_known,
)
from tests.gui.test_groups_support import unique
from tests.kafka.fixtures import KafkaCluster3


def _send(qtbot: QtBot, page: ProducerPage, topic: str, value: str) -> float:
    page.topic.setCurrentText("")
    qtbot.keyClicks(page.topic.lineEdit(), topic)
    page.value.clear()
    type_text(qtbot, page.value, value)
    start = time.monotonic()
    click(qtbot, page.send_button)
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)
    return time.monotonic() - start


def test_acks_selector_explains_each_choice(producer_page: ProducerPage) -> None:
    page = producer_page
    for i in range(page.acks.count()):
        page.acks.setCurrentIndex(i)
        acks = page.acks.currentText()
        assert page.acks_help.text() == ACKS_HELP[acks]
        assert page.acks.itemData(i, 3) == ACKS_HELP[acks]  # 3: Qt.ToolTipRole
    assert "min.insync.replicas" in ACKS_HELP["all"]


def test_failure_text_from_the_snapshot_when_librdkafka_only_says_timed_out() -> None:
    health = PartitionHealth("orders", 3, 1, (1, 2, 3), (1,), 2)
    text = failure_text("_MSG_TIMED_OUT", "Local: Message timed out", "all", health, 8)
    assert text.startswith(
        "NOT_ENOUGH_REPLICAS: orders-3 has 1 in-sync replica (brokers 1 of 1, 2, 3), "
        "min.insync.replicas is 2 — acks=all cannot succeed until a broker returns; "
        "acks=1 would be accepted."
    )
    assert "“Local: Message timed out” after 8 s" in text
    # with acks=1 the ISR is not the cause: the timeout is said as such
    other = failure_text("_MSG_TIMED_OUT", "Local: Message timed out", "1", health, 8)
    assert other.startswith("_MSG_TIMED_OUT: no broker confirmed the message within 8 s")
    leaderless = PartitionHealth("orders", 0, -1, (2, 3), (), 2)
    assert failure_text("_MSG_TIMED_OUT", "x", "1", leaderless, 8).startswith(
        "LEADER_NOT_AVAILABLE: orders-0 has no leader"
    )


@pytest.fixture
def cluster3_session(qtbot: QtBot, kafka_cluster3: KafkaCluster3) -> Iterator[ClusterSession]:
    s = make_session(qtbot, kafka_cluster3.bootstrap)
    yield s
    s.close()


def _isr(bootstrap: str, topic: str) -> tuple[int, ...]:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    return tuple(md.topics[topic].partitions[0].isrs)


@pytest.mark.realkafka
def test_send_below_min_insync_replicas_names_not_enough_replicas(
    qtbot: QtBot, kafka_cluster3: KafkaCluster3, cluster3_session: ClusterSession
) -> None:
    topic = unique("min-isr")
    admin = AdminClient({"bootstrap.servers": kafka_cluster3.bootstrap})
    new = NewTopic(topic, 1, 3, config={"min.insync.replicas": "3"})
    admin.create_topics([new])[topic].result(timeout=30)
    page = ProducerPage(cluster3_session)
    qtbot.addWidget(page)
    page.show()
    wait_topic_known(qtbot, cluster3_session, topic)
    assert _send(qtbot, page, topic, "all three in sync") < WAIT_MS / 1000
    assert page.last_report is not None, page.result.text()

    down = kafka_cluster3.broker_ids[-1]
    kafka_cluster3.stop(down)
    try:
        qtbot.waitUntil(lambda: len(_isr(kafka_cluster3.bootstrap, topic)) == 2, timeout=WAIT_MS)
        assert page.acks.currentText() == "all"
        took = _send(qtbot, page, topic, "needs three")
        text = page.result.text()
        assert page.last_report is None
        assert f"NOT_ENOUGH_REPLICAS: {topic}-0 has 2 in-sync replicas" in text, text
        assert "min.insync.replicas is 3" in text and "acks=1 would be accepted" in text
        assert took <= FORM_TIMEOUT_S + 5, f"{took:.1f} s at 'Sending…'"

        page.acks.setCurrentText("1")  # as the message says: acks=1 is accepted
        _send(qtbot, page, topic, "one is enough")
        assert page.last_report is not None, page.result.text()
    finally:
        page.shutdown()
        kafka_cluster3.start(down)
