"""The lag rule with transactions (real Kafka: the built-in broker has no transactions).

Control records occupy offsets and count as lag; an open transaction shows between the last
stable offset and the high watermark.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from pytestqt.qtbot import QtBot

from desktop.models.groups import GroupPartitionsModel, GroupsModel
from desktop.views.groups import GroupsPage
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups import cells, detail_cells, select
from tests.gui.test_groups_support import (
    commit_offsets,
    create_topic,
    groups_page,
    high_watermarks,
    unique,
)

pytestmark = pytest.mark.realkafka


def lag_of(page: GroupsPage, key: tuple[str, int]) -> str | None:
    """The detail's lag cell, None while the row is missing (an exception inside a wait would
    end it at once instead of waiting)."""
    row = detail_cells(page).get(key)
    return None if row is None else row[GroupPartitionsModel.LAG]


def test_marker_and_open_transaction_count_as_lag(qtbot: QtBot, kafka_single: object) -> None:
    bootstrap = str(kafka_single.bootstrap)  # type: ignore[attr-defined]
    topic, group = unique("txn"), unique("g-txn")
    create_topic(bootstrap, topic, 1)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tx")})
    producer.init_transactions(60)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, f"t{i}".encode(), partition=0)
    producer.commit_transaction(60)
    # 5 records at offsets 0-4 and the commit marker at 5 (written by the coordinator after
    # the commit returns): the high watermark becomes 6
    qtbot.waitUntil(
        lambda: high_watermarks(bootstrap, topic, 1) == {(topic, 0): 6}, timeout=WAIT_MS
    )
    # a consumer that read all 5 records and committed the position after the last one
    commit_offsets(bootstrap, group, {(topic, 0): 5})
    with groups_page(qtbot, bootstrap) as page:
        qtbot.waitUntil(
            lambda: (c := cells(page, group)) is not None and c[GroupsModel.TOTAL_LAG] == "1",
            timeout=WAIT_MS,
        )
        select(qtbot, page, group)
        row = detail_cells(page)[(topic, 0)]
        assert row[GroupPartitionsModel.END] == "6"
        assert row[GroupPartitionsModel.STABLE] == "6"
        assert row[GroupPartitionsModel.LAG] == "1"

        producer.begin_transaction()  # left open: 3 records above the last stable offset
        for i in range(3):
            producer.produce(topic, f"open{i}".encode(), partition=0)
        producer.flush(30)
        try:
            qtbot.waitUntil(lambda: lag_of(page, (topic, 0)) == "4", timeout=WAIT_MS)
            row = detail_cells(page)[(topic, 0)]
            assert row[GroupPartitionsModel.END] == "9"
            assert row[GroupPartitionsModel.STABLE] == "6"
        finally:
            producer.abort_transaction(60)
