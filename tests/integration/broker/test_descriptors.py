"""Open files stay bounded: a 20,000-partition broker starts and serves under a 1,024 limit."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest
from kio.schema.errors import ErrorCode

from tests.integration.groups.wire import WireClient
from tests.unit.storage.batches import simple_batch

from .partition_wire import (
    create_topics,
    fetch,
    free_port,
    open_descriptors,
    produce,
    start_broker,
    stop_broker,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")

LIMIT = 1024  # a common desktop default
TOPICS = {"wide-a": 9_450, "wide-b": 9_450, "eleven-hundred": 1_100}  # 20,000 partitions
# more partitions than the broker may keep open under the limit, so some are released
SAMPLE = {topic: range(0, count, count // 150) for topic, count in TOPICS.items()}


def _produce_sample(client: WireClient, round_no: int) -> None:
    for topic, partitions in SAMPLE.items():
        batch = simple_batch(2, value_size=20 + round_no)
        response = client.send(produce(topic, dict.fromkeys(partitions, batch)))
        (result,) = response.responses
        codes = {p.index: ErrorCode(p.error_code) for p in result.partition_responses}
        assert codes == dict.fromkeys(partitions, ErrorCode.none), topic


def _fetch_sample(client: WireClient, rounds: int) -> None:
    for topic, partitions in SAMPLE.items():
        response = client.send(fetch(topic, partitions))
        (result,) = response.responses
        for p in result.partitions:
            assert p.error_code == ErrorCode.none, (topic, p.partition_index)
            assert p.high_watermark == 2 * rounds, (topic, p.partition_index)
            assert p.records, (topic, p.partition_index)


def test_twenty_thousand_partitions_under_a_1024_descriptor_limit(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    proc = start_broker(data_dir, port, open_files=LIMIT)
    try:
        client = WireClient(f"127.0.0.1:{port}")
        with contextlib.closing(client):
            response = client.send(create_topics(TOPICS))
            assert {
                t.name: (t.error_code, t.error_message) for t in response.topics
            } == dict.fromkeys(TOPICS, (ErrorCode.none, None))
            _produce_sample(client, 1)
            _fetch_sample(client, 1)
            assert open_descriptors(proc.pid) < LIMIT - 200  # headroom left for clients
        stop_broker(proc)

        # the same limit again: starting needs no descriptor per partition either
        proc = start_broker(data_dir, port, open_files=LIMIT)
        client = WireClient(f"127.0.0.1:{port}")
        with contextlib.closing(client):
            _fetch_sample(client, 1)
            _produce_sample(client, 2)
            _fetch_sample(client, 2)
            assert open_descriptors(proc.pid) < LIMIT - 200
    finally:
        if proc.poll() is None:
            stop_broker(proc)
