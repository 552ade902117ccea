"""The group detail's time lag when a group's committed offset sits at a transaction marker: a
control record has no timestamp a user could see, and the peek for one waited out its 5 s."""

from __future__ import annotations

import time

from confluent_kafka import Producer
from pytestqt.qtbot import QtBot

from desktop.domain.groups import GroupDetail
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.workers.groups import GroupsPoller
from desktop.workers.session import ClusterSession
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups_support import commit_offsets, create_topic, high_watermarks, unique


def _detail(qtbot: QtBot, poller: GroupsPoller, group: str) -> tuple[float, GroupDetail]:
    out: list[object] = []
    t0 = time.perf_counter()
    poller.detail(group, out.append, out.append)
    qtbot.waitUntil(lambda: bool(out), timeout=WAIT_MS)
    seconds = time.perf_counter() - t0
    assert isinstance(out[0], GroupDetail), out[0]
    return seconds, out[0]


def test_a_commit_at_a_transaction_marker_has_its_time_lag_at_once(
    qtbot: QtBot, builtin_broker: RunningBroker
) -> None:
    bootstrap = builtin_broker.bootstrap
    topic, group = unique("marked"), unique("g-marked")
    create_topic(bootstrap, topic, 1)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tx")})
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, f"t{i}".encode(), partition=0)
    producer.commit_transaction(30)
    del producer  # its reconnects would outlive the broker
    # records at 0-4, the commit marker at 5
    qtbot.waitUntil(lambda: high_watermarks(bootstrap, topic, 1)[(topic, 0)] == 6, timeout=WAIT_MS)
    commit_offsets(bootstrap, group, {(topic, 0): 5})  # read all 5, committed past the last
    session = ClusterSession(ClusterProfile("marker", bootstrap), Credentials(), refresh_s=3600)
    session.start()
    poller = GroupsPoller(session)
    try:
        qtbot.waitUntil(lambda: session.snapshot is not None, timeout=WAIT_MS)
        seconds, detail = _detail(qtbot, poller, group)
        (part,) = detail.summary.partitions
        assert part.lag == 1  # the marker takes an offset, as in Kafka's own tools
        # nothing a consumer can read is left: no time behind, and said at once (not after 5 s)
        assert detail.time_lag_s[(topic, 0)] < 1.0
        assert seconds < 2.0, seconds

        # a record after the marker: its age is the group's time lag, read past the marker
        before = time.time()
        plain = Producer({"bootstrap.servers": bootstrap})
        plain.produce(topic, b"later", partition=0)
        assert plain.flush(30) == 0
        del plain
        qtbot.waitUntil(
            lambda: high_watermarks(bootstrap, topic, 1)[(topic, 0)] == 7, timeout=WAIT_MS
        )
        seconds, detail = _detail(qtbot, poller, group)
        assert seconds < 2.0, seconds
        lag_s = detail.time_lag_s[(topic, 0)]
        assert 0.0 <= lag_s <= time.time() - before + 1.0  # the later record's age, not 0 by rule
    finally:
        poller.close()
        session.close()
        assert session.runner.join(20)
