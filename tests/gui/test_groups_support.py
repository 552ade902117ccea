"""Support for the consumer-group GUI tests (no tests here): a groups page on a live session, real
confluent-kafka consumers, and the broker's own view of committed offsets."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.admin._listoffsets import OffsetSpec
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.views.groups import GroupsPage
from desktop.workers.session import ClusterSession
from tests.gui.conftest import WAIT_MS

_ids = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**9}-{next(_ids)}"


@contextmanager
def groups_page(
    qtbot: QtBot,
    bootstrap: str,
    refresh_s: float = 1.0,
    profile: ClusterProfile | None = None,
    creds: Credentials | None = None,
) -> Iterator[GroupsPage]:
    """The groups screen on a live session (`profile` and `creds` for a secured listener)."""
    session = ClusterSession(
        profile or ClusterProfile("groups", bootstrap), creds or Credentials(), refresh_s
    )
    page = GroupsPage(session)
    qtbot.addWidget(page)
    page.resize(1280, 820)
    page.show()
    session.start()
    page.activate()
    try:
        yield page
    finally:
        session.close()
        page.poller.close()  # as the cluster view does when its tab closes
        session.runner.join(15)


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    client = admin(bootstrap)
    client.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)


def produce(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for part, count in per_partition.items():
        for i in range(count):
            p.produce(topic, f"m{i}".encode(), partition=part)
    assert p.flush(30) == 0


def commit_offsets(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit for a group that has no members (it stays Empty).

    On a fresh cluster the offsets topic is created by the first group call and the
    coordinator answers NOT_COORDINATOR meanwhile; the commit is retried until it is taken.
    """
    tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
    client = admin(bootstrap)
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        futs = client.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, tps)])
        try:
            res = futs[group].result(timeout=30)
            errors = [tp.error for tp in res.topic_partitions if tp.error is not None]
        except KafkaException as exc:
            errors = [exc]
        if not errors:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"offsets for {group} not committed: {errors}")
        threading.Event().wait(0.2)  # back off before asking the coordinator again


def committed(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    req = [ConsumerGroupTopicPartitions(group)]
    client = admin(bootstrap)
    res = client.list_consumer_group_offsets(req)[group].result(timeout=30)
    return {(tp.topic, tp.partition): tp.offset for tp in res.topic_partitions if tp.offset >= 0}


def high_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[tuple[str, int], int]:
    spec = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    client = admin(bootstrap)
    futs = client.list_offsets({TopicPartition(topic, p): spec for p in range(partitions)})
    return {(tp.topic, tp.partition): f.result(timeout=30).offset for tp, f in futs.items()}


def group_ids(bootstrap: str) -> set[str]:
    client = admin(bootstrap)
    res = client.list_consumer_groups().result(timeout=30)
    return {g.group_id for g in res.valid}


def group_consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "client.id": f"{group}-client",
        }
    )


def poll_until(
    qtbot: QtBot, consumer: Consumer, done: Callable[[], bool], sink: list[object] | None = None
) -> None:
    """Poll `consumer` (keeping Qt's events flowing) until `done()` holds."""

    def step() -> bool:
        msg = consumer.poll(0.05)
        if msg is not None and msg.error() is None and sink is not None:
            sink.append(msg)
        return done()

    qtbot.waitUntil(step, timeout=WAIT_MS)


def wait_state(bootstrap: str, group: str, state: str, qtbot: QtBot) -> None:
    client = admin(bootstrap)

    def check() -> bool:
        res = client.describe_consumer_groups([group])[group].result(timeout=30)
        return bool(res.state.name.lower().replace("_", "") == state.lower())

    qtbot.waitUntil(check, timeout=WAIT_MS)
