"""Incremental fetch sessions (KIP-227) on the built-in broker, as Kafka keeps them: a full
fetch with epoch 0 opens a session; later fetches list only what changed and get back only the
partitions with something new; a wrong epoch or an unknown session is refused with Kafka's
errors; a session can be closed and partitions forgotten; the cache holds at most
max.incremental.fetch.session.cache.slots sessions. Raw frames (Fetch v12), and the Java
console consumer, which fetches through sessions (librdkafka does not use them)."""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.fetch.v12 import request as fetch_v12
from kio.schema.types import BrokerId, TopicName
from kio.static.primitive import i32, i32Timedelta, i64

from embedded_broker.handlers.fetch_sessions import cache_of
from tests.broker_fixtures import BrokerFactory, RunningBroker
from tests.integration.groups.wire import WireClient
from tests.kafka.cli import KafkaCli

from .clients import create_topic, produce_all, producer

TOPIC = "sessions"
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_FETCH_SESSION_EPOCH = 71


def _fetch(
    client: WireClient,
    session_id: int,
    epoch: int,
    offsets: dict[int, int],
    *,
    forget: tuple[int, ...] = (),
    wait_ms: int = 200,
) -> Any:
    partitions = tuple(
        fetch_v12.FetchPartition(
            partition=i32(p), fetch_offset=i64(o), partition_max_bytes=i32(1 << 20)
        )
        for p, o in sorted(offsets.items())
    )
    topics = (fetch_v12.FetchTopic(topic=TopicName(TOPIC), partitions=partitions),)
    forgotten = (
        (fetch_v12.ForgottenTopic(topic=TopicName(TOPIC), partitions=tuple(map(i32, forget))),)
        if forget
        else ()
    )
    request = fetch_v12.FetchRequest(
        replica_id=BrokerId(-1),
        max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=wait_ms)),
        min_bytes=i32(1),
        session_id=i32(session_id),
        session_epoch=i32(epoch),
        topics=topics if offsets else (),
        forgotten_topics_data=forgotten,
    )
    return client.send(request)


def _answered(response: Any) -> dict[int, tuple[int, int]]:
    """Partition → (high watermark, bytes of records) of every partition in the response."""
    return {
        int(p.partition_index): (int(p.high_watermark), len(p.records or b""))
        for t in response.responses
        for p in t.partitions
    }


def _produce(broker: RunningBroker, partition: int, count: int) -> None:
    items = [{"value": b"v%d" % i, "partition": partition} for i in range(count)]
    produce_all(producer(broker.bootstrap), TOPIC, items)


def test_an_incremental_fetch_answers_only_what_changed(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, TOPIC, 2)
    _produce(builtin_broker, 0, 3)
    _produce(builtin_broker, 1, 3)
    client = WireClient(builtin_broker.bootstrap)
    try:
        full = _fetch(client, 0, 0, {0: 0, 1: 0})
        assert full.error_code.value == 0
        session = int(full.session_id)
        assert session != 0
        seen = _answered(full)
        assert {p: hw for p, (hw, _) in seen.items()} == {0: 3, 1: 3}
        assert all(size > 0 for _, size in seen.values())

        # both partitions read to their end: nothing new, nothing answered
        quiet = _fetch(client, session, 1, {0: 3, 1: 3})
        assert (quiet.error_code.value, int(quiet.session_id)) == (0, session)
        assert _answered(quiet) == {}

        # a record on partition 1 only: the fetch lists nothing and gets partition 1 alone
        _produce(builtin_broker, 1, 1)
        news = _fetch(client, session, 2, {})
        assert list(_answered(news)) == [1]
        assert _answered(news)[1][0] == 4

        # the same epoch again, or a session nobody opened: Kafka's errors, no data
        stale = _fetch(client, session, 2, {})
        assert stale.error_code.value == INVALID_FETCH_SESSION_EPOCH
        assert (int(stale.session_id), _answered(stale)) == (0, {})
        unknown = _fetch(client, session + 1, 1, {})
        assert unknown.error_code.value == FETCH_SESSION_ID_NOT_FOUND

        # a forgotten partition is no longer fetched: its new records are not sent
        _produce(builtin_broker, 0, 2)
        _produce(builtin_broker, 1, 2)
        forgot = _fetch(client, session, 3, {1: 4}, forget=(0,))
        assert list(_answered(forgot)) == [1]
        _produce(builtin_broker, 0, 1)
        assert _answered(_fetch(client, session, 4, {1: 6})) == {}

        # epoch -1 closes the session (a sessionless full fetch answers everything asked)
        closing = _fetch(client, session, -1, {0: 0})
        assert (int(closing.session_id), list(_answered(closing))) == (0, [0])
        gone = _fetch(client, session, 5, {})
        assert gone.error_code.value == FETCH_SESSION_ID_NOT_FOUND
    finally:
        client.close()


def test_the_session_cache_holds_at_most_its_slots(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory({"max.incremental.fetch.session.cache.slots": "1"})
    create_topic(broker.bootstrap, TOPIC, 2)
    client = WireClient(broker.bootstrap)
    try:
        first = _fetch(client, 0, 0, {0: 0})
        assert int(first.session_id) != 0
        # the only slot is taken by a session in use: a full fetch, but no session
        second = _fetch(client, 0, 0, {1: 0})
        assert (second.error_code.value, int(second.session_id)) == (0, 0)
        assert list(_answered(second)) == [1]
        # the first session goes on
        assert _fetch(client, int(first.session_id), 1, {}).error_code.value == 0
    finally:
        client.close()


def test_the_java_consumer_reads_everything_through_fetch_sessions(
    builtin_broker: RunningBroker, kafka_cli: KafkaCli
) -> None:
    bootstrap = builtin_broker.bootstrap
    create_topic(bootstrap, TOPIC, 3)
    prod = producer(bootstrap)
    for round_ in range(30):  # many small batches: one fetch cannot take them all
        items = [
            {"value": b"r%d" % i, "partition": i % 3} for i in range(round_ * 10, round_ * 10 + 10)
        ]
        produce_all(prod, TOPIC, items)
    out = kafka_cli.run(
        "kafka-console-consumer",
        [
            "--bootstrap-server",
            bootstrap,
            "--topic",
            TOPIC,
            "--from-beginning",
            "--max-messages",
            "300",
            "--timeout-ms",
            "30000",
            # small fetches: most of the records come in incremental fetches of the session
            "--command-property",
            "max.partition.fetch.bytes=200",
        ],
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == sorted(f"r{i}" for i in range(300))
    # it fetched through a session, most of it incrementally, and closed it when it left
    opened, incremental, left = builtin_broker._runner.call(
        lambda s: (cache_of(s).created, cache_of(s).incremental, len(cache_of(s).sessions))
    )
    assert opened >= 1 and incremental >= 10 and left == 0
