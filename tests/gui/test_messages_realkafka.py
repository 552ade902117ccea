"""Producer form and browser against a real Apache Kafka broker (the harness's single node)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka import Producer
from PySide6.QtCore import QDateTime
from pytestqt.qtbot import QtBot

from desktop.domain.messages import StartMode
from desktop.views.messages import MessagesPage
from desktop.views.producer import ProducerPage
from desktop.workers.session import ClusterSession
from tests.gui.messages_support import (
    WAIT_MS,
    click,
    create_topic,
    make_session,
    scan,
    type_text,
    wait_topic_known,
)

pytestmark = pytest.mark.realkafka


@pytest.fixture
def kafka_session(qtbot: QtBot, kafka_single: object) -> Iterator[ClusterSession]:
    s = make_session(qtbot, kafka_single.bootstrap)  # type: ignore[attr-defined]
    yield s
    s.close()


def test_form_to_browser_on_real_kafka(qtbot: QtBot, kafka_session: ClusterSession) -> None:
    bootstrap = kafka_session.profile.bootstrap
    create_topic(bootstrap, "ts.gui.msgs", 4)
    wait_topic_known(qtbot, kafka_session, "ts.gui.msgs")
    form = ProducerPage(kafka_session)
    qtbot.addWidget(form)
    type_text(qtbot, form.topic.lineEdit(), "ts.gui.msgs")
    type_text(qtbot, form.key, "acct-9")
    type_text(qtbot, form.value, '{"amount": 3}')
    click(qtbot, form.add_header)
    form.headers.item(0, 0).setText("h1")
    form.headers.item(0, 1).setText("v1")
    form.compression.setCurrentText("lz4")
    reports = []
    for _ in range(2):
        click(qtbot, form.send_button)
        qtbot.waitUntil(lambda: not form.busy, timeout=WAIT_MS)
        assert form.last_report is not None, form.result.text()
        reports.append(form.last_report)
    assert reports[0].partition == reports[1].partition == form.predicted_partition()

    browser = MessagesPage(kafka_session)
    qtbot.addWidget(browser)
    scan(qtbot, browser, "ts.gui.msgs")
    got = {(r.partition, r.offset): r for r in browser.model.records}
    for report in reports:
        rec = got[(report.partition, report.offset)]
        assert (rec.key, rec.value, rec.headers) == (b"acct-9", b'{"amount": 3}', (("h1", b"v1"),))
        assert rec.timestamp == report.timestamp
    form.shutdown()
    browser.shutdown()


def test_timestamp_start_and_codecs_on_real_kafka(
    qtbot: QtBot, kafka_session: ClusterSession
) -> None:
    bootstrap = kafka_session.profile.bootstrap
    create_topic(bootstrap, "ts.gui.codecs", 1)
    base = 1_700_000_000_000
    expected = []
    for n, codec in enumerate(("gzip", "snappy", "lz4", "zstd")):
        producer = Producer(
            {"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20}
        )
        for i in range(25):
            value = f"{codec}-{i}-{'z' * i}".encode()
            producer.produce("ts.gui.codecs", value=value, timestamp=base + (n * 25 + i) * 1000)
            expected.append(value)
        assert producer.flush(30) == 0
    browser = MessagesPage(kafka_session)
    qtbot.addWidget(browser)
    scan(qtbot, browser, "ts.gui.codecs")
    assert [r.value for r in browser.model.records] == expected
    browser.start_mode.setCurrentText(StartMode.TIMESTAMP.value)
    browser.start_time.setDateTime(QDateTime.fromMSecsSinceEpoch(base + 60_000))
    scan(qtbot, browser, "ts.gui.codecs")
    assert browser.model.records[0].offset == 60
    assert len(browser.model.records) == 40
    browser.shutdown()


def test_scan_to_end_finishes_past_a_transaction_marker(
    qtbot: QtBot, kafka_session: ClusterSession
) -> None:
    bootstrap = kafka_session.profile.bootstrap
    create_topic(bootstrap, "ts.gui.txn", 1)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "ts-gui-txn"})
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(5):
        producer.produce("ts.gui.txn", value=b"t%d" % i)
    producer.commit_transaction(30)
    # offsets 0-4 are the messages, 5 the commit marker: the high watermark is 6
    browser = MessagesPage(kafka_session)
    qtbot.addWidget(browser)
    scan(qtbot, browser, "ts.gui.txn")
    assert [r.value for r in browser.model.records] == [b"t%d" % i for i in range(5)]
    assert browser.last_result is not None and browser.last_result.reason == "end"
    browser.shutdown()


def test_browser_and_form_use_the_profile_credentials(qtbot: QtBot, kafka_scram: object) -> None:
    """On a SCRAM listener the screens' own clients authenticate with the session's secrets."""
    from desktop.domain.profile import ClusterProfile, Credentials, SaslMechanism, SecurityProtocol

    scram = kafka_scram
    profile = ClusterProfile(
        "scram",
        scram.bootstrap,  # type: ignore[attr-defined]
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        sasl_mechanism=SaslMechanism.SCRAM_SHA_512,
        username=scram.username,  # type: ignore[attr-defined]
    )
    session = ClusterSession(profile, Credentials(password=scram.password), refresh_s=1.0)  # type: ignore[attr-defined]
    session.start()
    qtbot.waitUntil(lambda: session.snapshot is not None, timeout=WAIT_MS)
    try:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(scram.client_config())  # type: ignore[attr-defined]
        admin.create_topics([NewTopic("ts.gui.scram", 1, 1)])["ts.gui.scram"].result(timeout=30)
        wait_topic_known(qtbot, session, "ts.gui.scram")
        form = ProducerPage(session)
        qtbot.addWidget(form)
        type_text(qtbot, form.topic.lineEdit(), "ts.gui.scram")
        type_text(qtbot, form.key, "k-scram")
        type_text(qtbot, form.value, "secured hello")
        click(qtbot, form.send_button)
        qtbot.waitUntil(lambda: not form.busy, timeout=WAIT_MS)
        assert form.last_report is not None, form.result.text()

        browser = MessagesPage(session)
        qtbot.addWidget(browser)
        scan(qtbot, browser, "ts.gui.scram")
        values = [r.value for r in browser.model.records]
        assert values == [b"secured hello"]
        browser.shutdown()
        form.shutdown()
    finally:
        session.close()
