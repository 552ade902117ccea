"""Bulk sending from a template through the producer page, and saved templates."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop.services.templates import TemplateStore
from desktop.views.messages import MessagesPage
from desktop.views.producer import ProducerPage
from desktop.workers.session import ClusterSession
from tests.broker_fixtures import RunningBroker
from tests.gui.messages_support import (
    WAIT_MS,
    browser_fixture,  # noqa: F401 (a fixture)
    click,
    create_topic,
    producer_page_fixture,  # noqa: F401 (a fixture)
    scan,
    session_fixture,  # noqa: F401 (a fixture)
    total_messages,
    type_text,
    wait_topic_known,
)


def test_bulk_10000_with_rate_limit_lands_exactly(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
    browser: MessagesPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "bulk", 3)
    wait_topic_known(qtbot, session, "bulk")
    bulk = producer_page.bulk
    bulk.topic.setCurrentText("bulk")
    bulk.count.setValue(10_000)
    bulk.rate.setValue(5_000)
    click(qtbot, bulk.send_button)
    assert bulk.running
    qtbot.waitUntil(lambda: not bulk.running, timeout=120_000)
    last = bulk.last
    assert last is not None, bulk.error.text()
    assert (last.sent, last.delivered, last.failed) == (10_000, 10_000, 0)
    # the limit holds: 10,000 at 5,000/s cannot finish in less than ~2 s
    assert last.elapsed_s >= 1.9
    assert bulk.progress.value() == 10_000
    assert total_messages(builtin_broker.bootstrap, "bulk", 3) == 10_000
    # the template was filled in for each message
    browser.newest_n.setValue(2)
    browser.start_mode.setCurrentText("newest N per partition")
    scan(qtbot, browser, "bulk")
    for rec in browser.model.records:
        assert rec.key is not None and rec.key.startswith(b"key-")
        doc = json.loads(rec.value or b"")
        assert doc["id"] == int(rec.key[4:])
        assert 1 <= doc["score"] <= 100
        assert "@" in doc["email"]
        assert doc["user"]


def test_bulk_stop_stops_and_the_count_matches_the_broker(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "endless", 1)
    wait_topic_known(qtbot, session, "endless")
    bulk = producer_page.bulk
    bulk.topic.setCurrentText("endless")
    bulk.count.setValue(1_000_000)
    bulk.rate.setValue(2_000)
    click(qtbot, bulk.send_button)
    qtbot.waitUntil(lambda: bulk.progress.value() > 0, timeout=WAIT_MS)
    click(qtbot, bulk.stop_button)
    qtbot.waitUntil(lambda: not bulk.running, timeout=WAIT_MS)
    last = bulk.last
    assert last is not None
    assert 0 < last.sent < 1_000_000
    assert last.delivered == last.sent
    assert "stopped" in bulk.status.text()
    assert total_messages(builtin_broker.bootstrap, "endless", 1) == last.delivered


def test_bad_placeholder_is_reported_and_nothing_sent(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "tpl", 1)
    bulk = producer_page.bulk
    bulk.topic.setCurrentText("tpl")
    bulk.value.setPlainText("{{nope}}")
    click(qtbot, bulk.send_button)
    assert not bulk.running
    assert "Unknown placeholder {{nope}}" in bulk.error.text()
    assert total_messages(builtin_broker.bootstrap, "tpl", 1) == 0


def test_templates_are_saved_per_cluster(
    qtbot: QtBot, tmp_path: Path, producer_page: ProducerPage
) -> None:
    bulk = producer_page.bulk
    bulk.store = TemplateStore("my cluster", tmp_path)
    with qtbot.waitSignal(bulk.reload_templates().finished, timeout=WAIT_MS):
        pass
    assert bulk.templates.count() == 0
    bulk.key.setText("user-{{i}}")
    bulk.value.setPlainText('{"n": "{{name}}"}')
    type_text(qtbot, bulk.template_name, "users")
    click(qtbot, bulk.save_button)  # the file is written by a job, off the GUI thread
    assert bulk.template_job is not None
    qtbot.waitUntil(lambda: bulk.templates.currentText() == "users", timeout=WAIT_MS)
    assert (tmp_path / "my_cluster.json").exists()
    bulk.key.setText("other")
    bulk.value.setPlainText("other")
    again = TemplateStore("my cluster", tmp_path).load()
    assert [t.name for t in again] == ["users"]
    bulk.load_template("users")
    assert bulk.key.text() == "user-{{i}}"
    assert bulk.value.toPlainText() == '{"n": "{{name}}"}'
    assert TemplateStore("another", tmp_path).load() == []
    click(qtbot, bulk.delete_button)
    qtbot.waitUntil(lambda: bulk.templates.count() == 0, timeout=WAIT_MS)
    assert TemplateStore("my cluster", tmp_path).load() == []
