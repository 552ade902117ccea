"""A broker's Fetch of __cluster_metadata at the log end is a long-poll on the controller:
it waits for a new record or max_wait, so idle brokers do not spin against the controller."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

from kio.schema.fetch.v12 import request as fetch_req
from kio.schema.types import BrokerId, TopicName
from kio.static.primitive import i32, i32Timedelta, i64

from embedded_broker.controller.lifecycle import fetch_metadata
from embedded_broker.controller.quorum import Controller
from embedded_broker.metadata.log import METADATA_TOPIC
from embedded_broker.metadata.records import MetadataRecord, UnfenceBroker

from .controller_setup import Clock, make_cluster

WAIT_MS = 400


def _request(offset: int) -> Any:
    return fetch_req.FetchRequest(
        replica_id=BrokerId(101),
        max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=WAIT_MS)),
        min_bytes=i32(1),
        topics=(
            fetch_req.FetchTopic(
                topic=TopicName(METADATA_TOPIC),
                partitions=(
                    fetch_req.FetchPartition(
                        partition=i32(0),
                        fetch_offset=i64(offset),
                        partition_max_bytes=i32(1 << 20),
                    ),
                ),
            ),
        ),
        forgotten_topics_data=(),
    )


def _records(response: Any) -> bytes | None:
    records: bytes | None = response.responses[0].partitions[0].records
    return records


def test_a_fetch_at_the_log_end_waits_for_max_wait() -> None:
    controller = make_cluster(None, Clock())
    started = time.monotonic()
    response = asyncio.run(fetch_metadata(controller, _request(controller.log.end_offset)))
    assert time.monotonic() - started >= 0.8 * WAIT_MS / 1000
    assert not _records(response)


def test_a_waiting_fetch_is_answered_as_soon_as_a_record_is_appended() -> None:
    controller = make_cluster(None, Clock())
    end = controller.log.end_offset

    async def scenario() -> tuple[Any, float]:
        started = time.monotonic()
        waiting = asyncio.ensure_future(fetch_metadata(controller, _request(end)))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # parked, not answered empty at once

        def change() -> list[MetadataRecord]:
            return [UnfenceBroker(101, 0)]

        await controller.append(change)
        response = await waiting
        return response, time.monotonic() - started

    response, elapsed = asyncio.run(scenario())
    assert elapsed < WAIT_MS / 1000
    assert _records(response)


def test_a_fetch_behind_the_log_end_is_answered_at_once() -> None:
    controller: Controller = make_cluster(None, Clock())
    started = time.monotonic()
    response = asyncio.run(fetch_metadata(controller, _request(0)))
    assert time.monotonic() - started < WAIT_MS / 1000
    assert _records(response)
