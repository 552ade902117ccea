"""The groups screen inside a cluster tab, and a topic's consumers in the topic detail."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.models.groups import GroupsModel, TopicConsumersModel
from desktop.views.cluster_view import PAGES
from desktop.views.groups import GroupsPage
from desktop.views.main_window import MainWindow
from desktop.views.topic_consumers import TopicConsumers
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.gui.helpers import click_row, shown_values
from tests.gui.test_groups_support import commit_offsets, create_topic, produce, unique


def test_groups_tab_and_topic_consumers(
    qtbot: QtBot, window: MainWindow, builtin_broker: RunningBroker
) -> None:
    bootstrap = builtin_broker.bootstrap
    topic, group = unique("hooked"), unique("g-hooked")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 5, 1: 5})
    commit_offsets(bootstrap, group, {(topic, 0): 2, (topic, 1): 5})
    view = window.open_cluster(ClusterProfile("hooks", bootstrap), Credentials())
    wait_snapshot(qtbot, view)
    assert view.tabs.count() == len(PAGES)
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert "Consumer groups" in titles
    index = titles.index("Consumer groups")
    assert not isinstance(view.tabs.widget(index), GroupsPage)  # not built before it is shown
    view.tabs.setCurrentIndex(index)
    groups = view.tabs.currentWidget()
    assert isinstance(groups, GroupsPage)
    qtbot.waitUntil(lambda: group in shown_values(groups.table, GroupsModel.GROUP), timeout=WAIT_MS)

    view.tabs.setCurrentWidget(view.topics)
    qtbot.waitUntil(lambda: topic in shown_values(view.topics.table, 0), timeout=WAIT_MS)
    assert click_row(qtbot, view.topics.table, 0, topic)
    detail = view.topics.detail
    consumers = [detail.tabs.widget(i) for i in range(detail.tabs.count())]
    found = [w for w in consumers if isinstance(w, TopicConsumers)]
    assert len(found) == 1
    detail.tabs.setCurrentWidget(found[0])
    qtbot.waitUntil(lambda: shown_values(found[0].table, 0) == [group], timeout=WAIT_MS)
    # lag on this topic: (5 - 2) + (5 - 5)
    assert shown_values(found[0].table, TopicConsumersModel.LAG) == ["3"]
