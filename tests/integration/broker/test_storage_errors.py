"""A partition whose log is damaged or closed answers KAFKA_STORAGE_ERROR; the rest keeps going."""

from __future__ import annotations

import asyncio
import datetime
import os
from pathlib import Path
from typing import Any

import pytest
from kio.schema.errors import ErrorCode
from kio.schema.fetch.v12 import request as fetch_v12
from kio.schema.list_offsets.v7 import request as list_offsets_v7
from kio.schema.produce.v9 import request as produce_v9
from kio.serial import entity_reader
from kio.static.primitive import i32Timedelta

from embedded_broker.config import BrokerConfig
from embedded_broker.handlers import API_TABLE, RequestContext
from embedded_broker.protocol.codec import api_schema
from embedded_broker.protocol.fast import EncodedParts, EncodedResponse
from embedded_broker.state import BrokerState
from tests.broker_fixtures import RunningBroker
from tests.integration.groups.wire import WireClient
from tests.unit.storage.batches import simple_batch

from .clients import create_topic, produce_all, producer

TOPIC = "damaged"
STORAGE_ERROR = ErrorCode.kafka_storage_error
TIMESTAMP = 1_700_000_000_000


def _ms(value: int) -> Any:
    return i32Timedelta.parse(datetime.timedelta(milliseconds=value))


def fetch_request(partitions: list[int]) -> fetch_v12.FetchRequest:
    parts = tuple(
        fetch_v12.FetchPartition(
            partition=p,
            current_leader_epoch=-1,
            fetch_offset=0,
            last_fetched_epoch=-1,
            log_start_offset=-1,
            partition_max_bytes=1 << 20,
        )
        for p in partitions
    )
    return fetch_v12.FetchRequest(
        replica_id=-1,
        max_wait=_ms(100),
        min_bytes=1,
        max_bytes=1 << 20,
        isolation_level=0,
        session_id=0,
        session_epoch=-1,
        topics=(fetch_v12.FetchTopic(topic=TOPIC, partitions=parts),),
        forgotten_topics_data=(),
        rack_id="",
    )


def list_offsets_request(timestamp: int) -> list_offsets_v7.ListOffsetsRequest:
    parts = tuple(
        list_offsets_v7.ListOffsetsPartition(
            partition_index=p, current_leader_epoch=-1, timestamp=timestamp
        )
        for p in (0, 1)
    )
    return list_offsets_v7.ListOffsetsRequest(
        replica_id=-1,
        isolation_level=0,
        topics=(list_offsets_v7.ListOffsetsTopic(name=TOPIC, partitions=parts),),
    )


def errors(response: Any) -> dict[int, ErrorCode]:
    found: dict[int, ErrorCode] = {}
    for topic in getattr(response, "responses", None) or response.topics:
        partitions = getattr(topic, "partition_responses", None) or topic.partitions
        for p in partitions:
            index = p.partition_index if hasattr(p, "partition_index") else p.index
            found[index] = ErrorCode(p.error_code)
    return found


def test_fetch_from_a_damaged_segment(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, TOPIC, 2)
    items = [{"value": b"v%d" % i, "partition": i % 2, "timestamp": TIMESTAMP} for i in range(10)]
    produce_all(producer(builtin_broker.bootstrap), TOPIC, items)
    assert builtin_broker.data_dir is not None
    segment = Path(builtin_broker.data_dir, f"{TOPIC}-0", f"{0:020d}.log")
    os.truncate(segment, 0)  # the disk lost the data behind the broker's back

    client = WireClient(builtin_broker.bootstrap)
    try:
        response = client.send(fetch_request([0, 1]))
        assert errors(response) == {0: STORAGE_ERROR, 1: ErrorCode.none}
        (topic,) = response.responses
        good = next(p for p in topic.partitions if p.partition_index == 1)
        assert good.records and good.high_watermark == 5
        # the connection survives; a timestamp lookup must read the damaged segment too
        assert errors(client.send(list_offsets_request(TIMESTAMP))) == {
            0: STORAGE_ERROR,
            1: ErrorCode.none,
        }
        assert errors(client.send(fetch_request([1]))) == {1: ErrorCode.none}
    finally:
        client.close()


def _context(api_key: int, version: int) -> RequestContext:
    return RequestContext(api_key, version, 1, "test", "127.0.0.1", 1, "127.0.0.1", 9092)


async def _closed_log_answers(state: BrokerState) -> None:
    state.create_topic(TOPIC, 2, {})
    for p in (0, 1):
        log = state.partition(TOPIC, p)
        assert log is not None
        log.append(simple_batch(3, base_timestamp=TIMESTAMP), now_ms=state.now_ms())
    closed = state.partition(TOPIC, 0)
    assert closed is not None
    closed.close()

    batch = simple_batch(2, base_timestamp=TIMESTAMP)
    produce = produce_v9.ProduceRequest(
        transactional_id=None,
        acks=-1,
        timeout=_ms(30_000),
        topic_data=(
            produce_v9.TopicProduceData(
                name=TOPIC,
                partition_data=tuple(
                    produce_v9.PartitionProduceData(index=p, records=batch) for p in (0, 1)
                ),
            ),
        ),
    )
    encoded = await API_TABLE[0].handler(_context(0, 9), produce, state)
    assert isinstance(encoded, EncodedResponse)
    response, _ = entity_reader(api_schema(0, 9).response_type)(encoded.body, 0)
    assert errors(response) == {0: STORAGE_ERROR, 1: ErrorCode.none}

    for timestamp in (TIMESTAMP, -3):  # by timestamp, and max timestamp
        listed = await API_TABLE[2].handler(_context(2, 7), list_offsets_request(timestamp), state)
        assert errors(listed) == {0: STORAGE_ERROR, 1: ErrorCode.none}

    fetched = await API_TABLE[1].handler(_context(1, 12), fetch_request([0, 1]), state)
    assert isinstance(fetched, EncodedParts)
    response, _ = entity_reader(api_schema(1, 12).response_type)(b"".join(fetched.parts), 0)
    assert errors(response) == {0: STORAGE_ERROR, 1: ErrorCode.none}


@pytest.mark.parametrize("in_memory", [False, True], ids=["file", "memory"])
def test_closed_log_answers_storage_error(
    tmp_path: Path, in_memory: bool, caplog: pytest.LogCaptureFixture
) -> None:
    state = BrokerState(BrokerConfig(), None if in_memory else tmp_path, in_memory=in_memory)

    async def run() -> None:
        try:
            await _closed_log_answers(state)
        finally:
            await state.shutdown()

    asyncio.run(run())
    logged = [r for r in caplog.records if "KAFKA_STORAGE_ERROR" in r.getMessage()]
    assert len(logged) == 1  # one line, however often clients retry
