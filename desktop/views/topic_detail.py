"""Topic detail: partitions coloured by replication state, and the topic's configs."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from desktop.domain.cluster import ConfigEntryInfo, TopicInfo
from desktop.models.partitions import PartitionsModel
from desktop.views.config_editor import ConfigPanel
from desktop.views.topic_consumers import TopicConsumers
from desktop.views.widgets.common import FilterProxy, hint, make_table
from desktop.workers.session import ClusterSession


class TopicDetail(QWidget):
    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self._session = session
        self.topic: TopicInfo | None = None
        self.title = QLabel("Select a topic")
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.partitions = PartitionsModel()
        self.proxy = FilterProxy(0)
        self.proxy.setSourceModel(self.partitions)
        self.table = make_table(self.proxy, stretch=None)
        for col, width in enumerate((80, 70, 120, 120, 130, 130, 130, 110)):
            self.table.setColumnWidth(col, width)
        self.configs = ConfigPanel(lambda c: not c.read_only)
        self.configs.edit_requested.connect(self._edit_config)
        self.tabs = QTabWidget()
        part_page = QWidget()
        pl = QVBoxLayout(part_page)
        pl.setContentsMargins(0, 4, 0, 0)
        pl.addWidget(self.table)
        pl.addWidget(
            hint(
                "Amber: ISR smaller than the replica set. Red: ISR below min.insync.replicas "
                "or no leader."
            )
        )
        self.tabs.addTab(part_page, "Partitions")
        self.tabs.addTab(self.configs, "Configs")
        self.consumers = TopicConsumers(session)  # loads only while shown
        self.tabs.addTab(self.consumers, "Consumers")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs)

    def show_topic(self, topic: TopicInfo | None) -> None:
        changed = topic is None or self.topic is None or topic.name != self.topic.name
        self.topic = topic
        self.consumers.show_topic(topic.name if topic is not None else None)
        if topic is None:
            self.title.setText("Select a topic")
            self.partitions.set_partitions((), 1)
            self.configs.set_configs([])
            return
        self.title.setText(
            f"{topic.name}  ·  {topic.partition_count:,} partitions"
            f"  ·  RF {topic.replication_factor}"
            f"  ·  min ISR {topic.min_isr}"
        )
        self.partitions.set_partitions(topic.partitions, topic.min_isr)
        if changed:
            self.load_configs()

    def load_configs(self) -> None:
        if self.topic is None:
            return
        name = self.topic.name
        self._session.topic_configs(
            name, lambda c: self._on_configs(name, c), self.configs.status.setText
        )

    def _on_configs(self, topic: str, configs: list[ConfigEntryInfo]) -> None:
        if self.topic is not None and self.topic.name == topic:
            self.configs.set_configs(configs)

    @Slot(str, object)
    def _edit_config(self, key: str, value: str | None) -> None:
        if self.topic is None:
            return
        self._session.set_topic_config(
            self.topic.name, key, value, lambda _r: self.load_configs(), self.configs.status.setText
        )
