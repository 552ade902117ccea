"""``__share_group_state``: the share coordinator's replicated internal topic (KIP-932).

Each share-partition's state is one keyed record, the key Kafka's coordinator key
``group:topicId:partition`` and the value a snapshot (state epoch, leader epoch, start offset
and the runs of in-flight records with their states and delivery counts) as JSON; a delete is a
tombstone. The topic is compacted, so the last snapshot of each key is its state. Kafka writes
binary ShareSnapshot/ShareUpdate records instead; every write here is a whole snapshot.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kio.schema.create_topics.v7 import request as create_req
from kio.schema.types import TopicName
from kio.static.primitive import i16, i32, i32Timedelta

from embedded_broker.cluster_link.internal_topic import ensure_internal_topic
from embedded_broker.storage import OffsetOutOfRange, PartitionLog
from embedded_broker.txn.log_batch import decode_records
from embedded_broker.txn.metadata import partition_for

if TYPE_CHECKING:
    from embedded_broker.cluster_link.link import BrokerLink
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

SHARE_STATE_TOPIC = "__share_group_state"
_READ_CHUNK = 4 * 1024 * 1024

Batch = tuple[int, int, int, int]  # first offset, last offset, record state, delivery count


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One share-partition's durable state as the share coordinator keeps it."""

    state_epoch: int
    leader_epoch: int
    start_offset: int
    batches: tuple[Batch, ...] = ()
    # a summary's delivery complete count (ReadShareGroupStateSummary carries no batches)
    complete: int | None = None

    def encode(self) -> bytes:
        return json.dumps(
            {
                "state_epoch": self.state_epoch,
                "leader_epoch": self.leader_epoch,
                "start_offset": self.start_offset,
                "batches": [list(b) for b in self.batches],
            }
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Snapshot:
        data = json.loads(raw)
        batches = tuple(
            (int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in data.get("batches", [])
        )
        return cls(
            int(data["state_epoch"]), int(data["leader_epoch"]), int(data["start_offset"]), batches
        )

    def delivered(self) -> int:
        """Records past the start offset already acknowledged or archived (Kafka's delivery
        complete count)."""
        if self.complete is not None:
            return self.complete
        return sum(last - first + 1 for first, last, state, _ in self.batches if state in (2, 4))


StateKey = tuple[str, uuid.UUID, int]  # group id, topic id, partition


def coordinator_key(key: StateKey) -> str:
    """Kafka's SharePartitionKey.asCoordinatorKey()."""
    group_id, topic_id, partition = key
    return f"{group_id}:{_kafka_uuid(topic_id)}:{partition}"


def _kafka_uuid(topic_id: uuid.UUID) -> str:
    # Kafka prints a Uuid in URL-safe base64 without padding
    return base64.urlsafe_b64encode(topic_id.bytes).decode().rstrip("=")


def parse_key(raw: bytes) -> StateKey:
    group_id, topic, partition = raw.decode().rsplit(":", 2)
    topic_id = uuid.UUID(bytes=base64.urlsafe_b64decode(topic + "=" * (-len(topic) % 4)))
    return group_id, topic_id, int(partition)


def state_partition(key: StateKey, partitions: int) -> int:
    """The __share_group_state partition of a share-partition (Kafka's partitionFor)."""
    return partition_for(coordinator_key(key), partitions)


def read_state_log(plog: PartitionLog) -> list[tuple[StateKey, Snapshot | None]]:
    """Every (key, snapshot or None for a tombstone) of one partition in log order (blocking:
    runs on a worker thread when this broker becomes the partition's leader)."""
    out: list[tuple[StateKey, Snapshot | None]] = []
    offset = plog.log_start_offset
    while True:
        try:
            data = plog.read(offset, _READ_CHUNK)
        except OffsetOutOfRange:
            return out
        if not data:
            return out
        before = offset
        for record_offset, key, value in decode_records(data):
            if record_offset < offset:
                continue
            offset = record_offset + 1
            try:
                out.append((parse_key(key), None if value is None else Snapshot.decode(value)))
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                log.warning("Skipping a damaged %s record: %s", SHARE_STATE_TOPIC, exc)
        if offset == before:
            return out


def topic_configs(state: BrokerState) -> dict[str, str]:
    """Kafka's configs of __share_group_state: compacted, min.insync.replicas from
    share.coordinator.state.topic.min.isr (never above the replication factor)."""
    rf = state.config.get_int("share.coordinator.state.topic.replication.factor")
    min_isr = min(state.config.get_int("share.coordinator.state.topic.min.isr"), rf)
    return {
        "cleanup.policy": "compact",
        "compression.type": "uncompressed",
        "min.insync.replicas": str(min_isr),
        "segment.bytes": str(state.config.get_int("share.coordinator.state.topic.segment.bytes")),
        "unclean.leader.election.enable": "false",
    }


def _request(state: BrokerState) -> create_req.CreateTopicsRequest:
    config = state.config.get_int
    return create_req.CreateTopicsRequest(
        topics=(
            create_req.CreatableTopic(
                name=TopicName(SHARE_STATE_TOPIC),
                num_partitions=i32(config("share.coordinator.state.topic.num.partitions")),
                replication_factor=i16(config("share.coordinator.state.topic.replication.factor")),
                assignments=(),
                configs=tuple(
                    create_req.CreatableTopicConfig(name=k, value=v)
                    for k, v in topic_configs(state).items()
                ),
            ),
        ),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=10)),
        validate_only=False,
    )


async def ensure_state_topic(state: BrokerState, link: BrokerLink) -> None:
    """Ask the controller for __share_group_state unless the image has it."""
    await ensure_internal_topic(state, link, SHARE_STATE_TOPIC, lambda: _request(state))
