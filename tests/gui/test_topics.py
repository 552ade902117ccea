"""Topic operations through the real widgets, on the built-in broker and on real Kafka."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.cimpl import NewTopic
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.models.topics import TopicsModel
from desktop.views.cluster_view import ClusterView
from desktop.views.main_window import LOCAL_NAME, MainWindow
from desktop.views.topic_dialogs import AddPartitionsDialog, ConfirmNameDialog, CreateTopicDialog
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.gui.helpers import click_row, shown_values
from tests.kafka.fixtures import KafkaSingle


@pytest.fixture(params=["builtin", pytest.param("kafka", marks=pytest.mark.realkafka)])
def view(request: pytest.FixtureRequest, qtbot: QtBot, window: MainWindow) -> Iterator[ClusterView]:
    if request.param == "builtin":
        # the user's way: the big button on the start screen
        qtbot.mouseClick(window.start.start_local, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
        found = window.find_view(LOCAL_NAME)
        assert found is not None
        assert window.start.local_address.text() == found.session.profile.bootstrap
    else:
        kafka = request.getfixturevalue("kafka_single")
        found = window.open_cluster(ClusterProfile("kafka", kafka.bootstrap), Credentials())
    wait_snapshot(qtbot, found)
    found.tabs.setCurrentWidget(found.topics)
    yield found


def _admin(view: ClusterView) -> AdminClient:
    return AdminClient({"bootstrap.servers": view.session.profile.bootstrap})


def _broker_topics(view: ClusterView) -> set[str]:
    return set(_admin(view).list_topics(timeout=10).topics)


def _open_create(qtbot: QtBot, view: ClusterView) -> CreateTopicDialog:
    qtbot.mouseClick(view.topics.create_button, Qt.MouseButton.LeftButton)
    dialog = view.topics.dialog
    assert isinstance(dialog, CreateTopicDialog)
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def _names(view: ClusterView) -> list[str]:
    return shown_values(view.topics.table, TopicsModel.NAME)


def test_create_topic_through_dialog(qtbot: QtBot, view: ClusterView) -> None:
    dialog = _open_create(qtbot, view)
    qtbot.keyClicks(dialog.name, "gui.orders")
    dialog.partitions.selectAll()
    qtbot.keyClicks(dialog.partitions, "4")
    assert dialog.name_error.text() == ""
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "gui.orders" in _names(view), timeout=WAIT_MS)
    md = _admin(view).list_topics(timeout=10)
    assert len(md.topics["gui.orders"].partitions) == 4
    assert view.topics.message.text() == "Created topic 'gui.orders'."


def test_invalid_name_shows_inline_error(qtbot: QtBot, view: ClusterView) -> None:
    before = _broker_topics(view)
    dialog = _open_create(qtbot, view)
    qtbot.keyClicks(dialog.name, "bad name!")
    assert dialog.name_error.text().startswith("Only letters, digits")
    assert not dialog.ok.isEnabled()
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)  # disabled: nothing happens
    assert dialog.isVisible()
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, "x" * 250)
    assert "at most 249" in dialog.name_error.text()
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton
    )
    assert _broker_topics(view) == before


def _create_on_broker(view: ClusterView, name: str) -> None:
    admin = _admin(view)
    futs = admin.create_topics([NewTopic(name, 1, 1)])
    futs[name].result(timeout=20)


def test_delete_topic_asks_for_the_name(qtbot: QtBot, view: ClusterView) -> None:
    _create_on_broker(view, "doomed")
    view.session.refresh()
    qtbot.waitUntil(lambda: "doomed" in _names(view), timeout=WAIT_MS)
    assert click_row(qtbot, view.topics.table, TopicsModel.NAME, "doomed")
    qtbot.mouseClick(view.topics.delete_button, Qt.MouseButton.LeftButton)
    dialog = view.topics.dialog
    assert isinstance(dialog, ConfirmNameDialog)
    assert not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.confirm, "doome")
    assert not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.confirm, "d")
    assert dialog.ok.isEnabled()
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "doomed" not in _names(view), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "doomed" not in _broker_topics(view), timeout=WAIT_MS)


def test_change_config_reaches_the_broker(qtbot: QtBot, view: ClusterView) -> None:
    _create_on_broker(view, "tuned")
    view.session.refresh()
    qtbot.waitUntil(lambda: "tuned" in _names(view), timeout=WAIT_MS)
    assert click_row(qtbot, view.topics.table, TopicsModel.NAME, "tuned")
    detail = view.topics.detail
    detail.tabs.setCurrentWidget(detail.configs)
    panel = detail.configs
    qtbot.waitUntil(lambda: "retention.ms" in shown_values(panel.table, 0), timeout=WAIT_MS)
    assert click_row(qtbot, panel.table, 0, "retention.ms")
    qtbot.mouseClick(panel.edit_button, Qt.MouseButton.LeftButton)
    dialog = panel.dialog
    qtbot.waitUntil(dialog.isVisible)
    dialog.value.selectAll()
    qtbot.keyClicks(dialog.value, "3600000")
    qtbot.keyClick(dialog.value, Qt.Key.Key_Return)

    def broker_value() -> str | None:
        res = ConfigResource(ConfigResource.Type.TOPIC, "tuned")
        admin = _admin(view)
        entries = admin.describe_configs([res])[res].result(timeout=10)
        return entries["retention.ms"].value

    qtbot.waitUntil(lambda: broker_value() == "3600000", timeout=WAIT_MS)
    # the panel reloads and shows the override with its source
    qtbot.waitUntil(
        lambda: any(
            c.name == "retention.ms" and c.value == "3600000" and not c.is_default
            for c in panel.model.rows
        ),
        timeout=WAIT_MS,
    )


def test_add_partitions_and_empty_topic(qtbot: QtBot, view: ClusterView) -> None:
    from confluent_kafka import Producer

    _create_on_broker(view, "grow")
    producer = Producer({"bootstrap.servers": view.session.profile.bootstrap})
    for i in range(20):
        producer.produce("grow", value=f"m{i}".encode(), partition=0)
    assert producer.flush(20) == 0
    view.session.refresh()

    def messages() -> int | None:
        snap = view.session.snapshot
        topic = snap.topic("grow") if snap else None
        return topic.messages if topic else None

    qtbot.waitUntil(lambda: messages() == 20, timeout=WAIT_MS)
    assert click_row(qtbot, view.topics.table, TopicsModel.NAME, "grow")

    qtbot.mouseClick(view.topics.partitions_button, Qt.MouseButton.LeftButton)
    dialog = view.topics.dialog
    assert isinstance(dialog, AddPartitionsDialog)
    dialog.total.selectAll()
    qtbot.keyClicks(dialog.total, "3")
    qtbot.keyClick(dialog.total, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: len(_admin(view).list_topics(timeout=10).topics["grow"].partitions) == 3,
        timeout=WAIT_MS,
    )
    # the job's answer reaches the form after the broker has the partitions
    qtbot.waitUntil(
        lambda: view.topics.message.text() == "'grow' now has 3 partitions.", timeout=WAIT_MS
    )

    qtbot.mouseClick(view.topics.empty_button, Qt.MouseButton.LeftButton)
    confirm = view.topics.dialog
    assert isinstance(confirm, ConfirmNameDialog)
    qtbot.keyClicks(confirm.confirm, "grow")
    qtbot.mouseClick(confirm.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: messages() == 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.topics.message.text() == "Emptied 'grow'.", timeout=WAIT_MS)


@pytest.mark.realkafka
def test_two_clusters_at_once_keep_their_state(
    qtbot: QtBot, window: MainWindow, kafka_single: KafkaSingle
) -> None:
    qtbot.mouseClick(window.start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    local = window.find_view(LOCAL_NAME)
    assert local is not None
    remote = window.open_cluster(ClusterProfile("kafka", kafka_single.bootstrap), Credentials())
    wait_snapshot(qtbot, local)
    wait_snapshot(qtbot, remote)
    assert window.tabs.count() == 3
    assert window.status_cluster.text().startswith("kafka (")

    window.tabs.setCurrentWidget(local)
    local.tabs.setCurrentWidget(local.topics)
    qtbot.keyClicks(local.topics.filter, "zz-no-such")
    assert local.topics.proxy.rowCount() == 0
    assert window.status_cluster.text().startswith(f"{LOCAL_NAME} (")

    window.tabs.setCurrentWidget(remote)
    remote_refreshes = remote.session.last_refresh
    qtbot.waitUntil(lambda: remote.session.last_refresh != remote_refreshes, timeout=WAIT_MS)
    window.tabs.setCurrentWidget(local)
    assert local.topics.filter.text() == "zz-no-such"
    assert local.topics.proxy.rowCount() == 0
    assert local.tabs.currentWidget() is local.topics
    assert remote.session.profile.bootstrap == kafka_single.bootstrap
