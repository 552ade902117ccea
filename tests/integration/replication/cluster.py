"""Three in-process brokers (101, 102, 103) whose partition states the test sets, standing in
for the controller: a test cluster for the replication data plane."""

from __future__ import annotations

import asyncio
import datetime
import importlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kio.schema.list_offsets.v7 import request as list_offsets_v7

from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.runner import BrokerRunner
from embedded_broker.state import BrokerState
from tests.broker_fixtures import TEST_DEFAULTS
from tests.integration.broker.clients import create_topic
from tests.integration.cluster.local_cluster import start_timeout_s
from tests.integration.groups.wire import WireClient, make
from tests.unit.storage.batches import Rec, build_batch

NODES = (101, 102, 103)
TIMEOUT_S = 20.0


class Cluster:
    """Brokers on their own ports and data dirs; ``set_state`` plays the controller, and the
    ISR sender commits a leader's proposal straight to every running broker."""

    def __init__(
        self,
        root: Path,
        config: Mapping[str, str] | None = None,
        racks: Mapping[int, str] | None = None,
    ) -> None:
        self.root = root
        self.config = {**TEST_DEFAULTS, "replica.fetch.backoff.ms": "100", **(config or {})}
        self.racks = dict(racks or {})
        self.runners: dict[int, BrokerRunner] = {}
        self.states: dict[tuple[str, int], PartitionState] = {}
        self.isr_changes: list[tuple[str, int, tuple[int, ...]]] = []
        self._lock = threading.Lock()
        for node in NODES:
            self.start(node)

    # -- brokers ----------------------------------------------------------------------------
    def start(self, node: int) -> None:
        runner = self.runners.get(node)
        if runner is None:
            runner = BrokerRunner(
                port=0,
                data_dir=self.root / f"broker-{node}",
                config={**self.config, "node.id": str(node), **self._rack_setting(node)},
            )
            self.runners[node] = runner
        runner.start()
        runner.call(self._wire)
        for (topic, partition), ps in list(self.states.items()):  # what the controller sends
            runner.call(lambda s, t=topic, p=partition, ps=ps: s.replicas.apply(t, p, ps))

    def _rack_setting(self, node: int) -> dict[str, str]:
        return {"broker.rack": self.racks[node]} if node in self.racks else {}

    def stop(self, node: int) -> None:
        self.runners[node].stop()

    def close(self) -> None:
        for runner in self.runners.values():
            runner.stop()

    def bootstrap(self, node: int) -> str:
        address = self.runners[node].address
        assert address is not None
        return address.bootstrap

    def _lookup(self, node: int) -> tuple[str, int] | None:
        runner = self.runners.get(node)
        address = runner.address if runner is not None else None
        return None if address is None else (address.host, address.port)

    def _wire(self, state: BrokerState) -> None:
        state.replicas.set_endpoints(self._lookup)
        state.replicas.set_isr_sender(self._commit_isr)
        state.replicas.set_racks(self.racks.get)

    async def _commit_isr(
        self, topic: str, partition: int, proposed: PartitionState
    ) -> PartitionState | None:
        with self._lock:
            current = self.states.get((topic, partition))
            if current is None or current.leader_epoch != proposed.leader_epoch:
                return None  # a stale leader's proposal, as the controller refuses it
            committed = replace(proposed, partition_epoch=current.partition_epoch + 1)
            self.states[(topic, partition)] = committed
            self.isr_changes.append((topic, partition, committed.isr))
        await asyncio.to_thread(self._apply_everywhere, topic, partition, committed)
        return committed

    def _apply_everywhere(self, topic: str, partition: int, ps: PartitionState) -> None:
        for runner in list(self.runners.values()):
            if runner.running:
                runner.call(lambda s: s.replicas.apply(topic, partition, ps))

    # -- what a test does -------------------------------------------------------------------
    def create_topic(self, name: str, partitions: int = 1, **config: str) -> None:
        for node in NODES:
            create_topic(self.bootstrap(node), name, partitions, config)

    def set_state(
        self,
        topic: str,
        partition: int,
        *,
        leader: int,
        epoch: int,
        isr: Iterable[int],
        replicas: Iterable[int] = NODES,
    ) -> None:
        ps = PartitionState(leader, epoch, tuple(replicas), tuple(isr), epoch)
        with self._lock:
            self.states[(topic, partition)] = ps
        self._apply_everywhere(topic, partition, ps)

    def isr(self, topic: str, partition: int = 0) -> tuple[int, ...]:
        with self._lock:
            return self.states[(topic, partition)].isr

    def on(self, node: int, fn: Callable[[BrokerState], Any]) -> Any:
        return self.runners[node].call(fn)

    def offsets(self, node: int, topic: str, partition: int = 0) -> tuple[int, int]:
        """(log end offset, high watermark) of a partition on one broker."""

        def read(state: BrokerState) -> tuple[int, int]:
            plog = state.partition(topic, partition)
            assert plog is not None
            return plog.log_end_offset, state.replicas.high_watermark(topic, partition, plog)

        return self.on(node, read)

    def log_bytes(self, node: int, topic: str, partition: int = 0) -> bytes:
        """Every batch of the partition's log on one broker, as stored."""

        def read(state: BrokerState) -> bytes:
            plog = state.partition(topic, partition)
            assert plog is not None
            out = b""
            offset = plog.log_start_offset
            while offset < plog.log_end_offset:
                data = plog.read(offset, 1 << 20)
                if not data:
                    break
                out += data
                offset = _next_offset(data)
            return out

        return self.on(node, read)


def _next_offset(data: bytes) -> int:
    at = last = 0
    while at + 27 <= len(data):
        base = int.from_bytes(data[at : at + 8], "big", signed=True)
        length = int.from_bytes(data[at + 8 : at + 12], "big", signed=True)
        last = base + int.from_bytes(data[at + 23 : at + 27], "big", signed=True)
        at += 12 + length
    return last + 1


def _first_batch_from(data: bytes, offset: int) -> int:
    """Where in ``data`` the first batch starting at or after ``offset`` begins (the end if none
    does)."""
    at = 0
    while at + 12 <= len(data):
        if int.from_bytes(data[at : at + 8], "big", signed=True) >= offset:
            break
        at += 12 + int.from_bytes(data[at + 8 : at + 12], "big", signed=True)
    return at


def prefix_below(data: bytes, end: int) -> bytes:
    """The batches of ``data`` that start below offset ``end``."""
    return data[: _first_batch_from(data, end)]


def prefix_from(data: bytes, start: int) -> bytes:
    """The batches of ``data`` that start at or after offset ``start``."""
    return data[_first_batch_from(data, start) :]


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT_S, what: str = "") -> None:
    """Poll ``condition`` until true; ``timeout`` (the idle-machine deadline) stretches with
    the load."""
    deadline = time.monotonic() + start_timeout_s(timeout)
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


# -- raw requests -------------------------------------------------------------------------
def _ms(value: int) -> datetime.timedelta:
    return datetime.timedelta(milliseconds=value)


def batch(count: int, tag: str = "v") -> bytes:
    records = [Rec(f"k{i}".encode(), f"{tag}-{i}".encode(), i) for i in range(count)]
    return build_batch(records, base_timestamp=int(time.time() * 1000))


def produce(
    bootstrap: str, topic: str, records: bytes, *, acks: int, timeout_ms: int = 30_000
) -> Any:
    """One raw Produce v9 of ``records`` to partition 0: the partition's response."""
    return produce_response(bootstrap, topic, records, acks=acks, timeout_ms=timeout_ms)


def produce_response(
    bootstrap: str,
    topic: str,
    records: bytes,
    *,
    acks: int,
    timeout_ms: int = 30_000,
    version: int = 9,
    whole: bool = False,
) -> Any:
    """One raw Produce of ``records`` to partition 0: the partition's response (or the
    whole response)."""
    produce_v9 = importlib.import_module(f"kio.schema.produce.v{version}.request")
    request = produce_v9.ProduceRequest(
        transactional_id=None,
        acks=acks,
        timeout=_ms(timeout_ms),
        topic_data=(
            produce_v9.TopicProduceData(
                name=topic,
                partition_data=(produce_v9.PartitionProduceData(index=0, records=records),),
            ),
        ),
    )
    client = WireClient(bootstrap)
    try:
        response = client.send(request)
    finally:
        client.close()
    return response if whole else response.responses[0].partition_responses[0]


def fetch(
    bootstrap: str,
    topic: str,
    *,
    offset: int = 0,
    current_leader_epoch: int = -1,
    version: int = 12,
    rack: str = "",
    last_fetched_epoch: int = -1,
    replica_id: int = -1,
    max_wait_ms: int = 0,
    min_bytes: int = 0,
    log_start_offset: int = -1,
) -> Any:
    """One raw Fetch (v12 unless told) of partition 0, as a consumer not waiting unless told:
    the partition's response."""
    schema = importlib.import_module(f"kio.schema.fetch.v{version}.request")
    request = make(
        schema.FetchRequest,
        replica_id=replica_id,
        max_wait=_ms(max_wait_ms),
        min_bytes=min_bytes,
        max_bytes=1 << 20,
        isolation_level=0,
        session_id=0,
        session_epoch=-1,
        topics=(
            make(
                schema.FetchTopic,
                topic=topic,
                partitions=(
                    make(
                        schema.FetchPartition,
                        partition=0,
                        current_leader_epoch=current_leader_epoch,
                        fetch_offset=offset,
                        last_fetched_epoch=last_fetched_epoch,
                        log_start_offset=log_start_offset,
                        partition_max_bytes=1 << 20,
                    ),
                ),
            ),
        ),
        forgotten_topics_data=(),
        rack_id=rack,
    )
    client = WireClient(bootstrap)
    try:
        return client.send(request).responses[0].partitions[0]
    finally:
        client.close()


def latest_offset(bootstrap: str, topic: str, replica_id: int = -1) -> Any:
    """One raw ListOffsets v7 (latest) of partition 0, as a consumer or as a replica."""
    request = list_offsets_v7.ListOffsetsRequest(
        replica_id=replica_id,
        isolation_level=0,
        topics=(
            list_offsets_v7.ListOffsetsTopic(
                name=topic,
                partitions=(
                    list_offsets_v7.ListOffsetsPartition(
                        partition_index=0, current_leader_epoch=-1, timestamp=-1
                    ),
                ),
            ),
        ),
    )
    client = WireClient(bootstrap)
    try:
        return client.send(request).topics[0].partitions[0]
    finally:
        client.close()


def delete_records(bootstrap: str, topic: str, offset: int) -> Any:
    """One raw DeleteRecords v2 of partition 0 before ``offset``: the partition's result."""
    from kio.schema.delete_records.v2 import request as delete_v2

    request = delete_v2.DeleteRecordsRequest(
        topics=(
            delete_v2.DeleteRecordsTopic(
                name=topic,
                partitions=(delete_v2.DeleteRecordsPartition(partition_index=0, offset=offset),),
            ),
        ),
        timeout=_ms(10_000),
    )
    client = WireClient(bootstrap)
    try:
        return client.send(request).topics[0].partitions[0]
    finally:
        client.close()
