"""ISR proposals batched into AlterPartition requests, as Kafka's AlterPartitionManager: while
one request is in flight, further proposals queue, and the next request carries all of them
(one per partition, the newest proposal winning)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from kio.schema.alter_partition.v2 import request as alter_req
from kio.schema.errors import ErrorCode
from kio.schema.types import BrokerId
from kio.static.primitive import i32, i64

from embedded_broker.metadata.image import MetadataImage, PartitionImage

log = logging.getLogger(__name__)

Key = tuple[str, int]
T = TypeVar("T")
R = TypeVar("R")
Spawn = Callable[[Coroutine[Any, Any, None], str], object]


class ProposalQueue(Generic[T, R]):
    """Queues proposals per key and sends them with ``send_batch``, one batch at a time; each
    ``submit`` returns its own key's answer (None: refused, superseded, or not sent)."""

    def __init__(
        self, send_batch: Callable[[dict[Key, T]], Awaitable[dict[Key, R]]], spawn: Spawn
    ) -> None:
        self._send_batch = send_batch
        self._spawn = spawn
        self._pending: dict[Key, tuple[T, asyncio.Future[R | None]]] = {}
        self._sending = False
        self.batches_sent = 0

    async def submit(self, key: Key, proposal: T) -> R | None:
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        older = self._pending.pop(key, None)
        if older is not None and not older[1].done():
            older[1].set_result(None)  # superseded before it was sent: the newest one goes
        self._pending[key] = (proposal, future)
        if not self._sending:
            self._sending = True
            self._spawn(self._drain(), "alter-partition")
        return await future

    async def _drain(self) -> None:
        batch: dict[Key, tuple[T, asyncio.Future[R | None]]] = {}
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                self.batches_sent += 1
                try:
                    answers = await self._send_batch({k: p for k, (p, _) in batch.items()})
                except Exception:
                    log.exception("Could not send %d ISR change(s) to the controller", len(batch))
                    answers = {}
                for key, (_, future) in batch.items():
                    if not future.done():
                        future.set_result(answers.get(key))
        finally:
            self._sending = False
            # stopped (the broker shutting down): nobody waits forever for an answer
            for _, future in [*batch.values(), *self._pending.values()]:
                if not future.done():
                    future.set_result(None)


def alter_partition_request(
    node_id: int, broker_epoch: int, image: MetadataImage, batch: dict[Key, Any]
) -> tuple[Any, dict[tuple[uuid.UUID, int], Key]]:
    """One AlterPartition request for every proposal (a PartitionState) whose topic the image
    knows, grouped by topic id; and which key each (topic id, partition) answers."""
    by_topic: dict[uuid.UUID, list[Any]] = {}
    sent: dict[tuple[uuid.UUID, int], Key] = {}
    for key, proposed in batch.items():
        topic = image.topics.get(key[0])
        if topic is None:
            continue
        by_topic.setdefault(topic.topic_id, []).append(
            alter_req.PartitionData(
                partition_index=i32(key[1]),
                leader_epoch=i32(proposed.leader_epoch),
                new_isr=tuple(BrokerId(b) for b in proposed.isr),
                partition_epoch=i32(proposed.partition_epoch),
            )
        )
        sent[(topic.topic_id, key[1])] = key
    request = alter_req.AlterPartitionRequest(
        broker_id=BrokerId(node_id),
        broker_epoch=i64(broker_epoch),
        topics=tuple(
            alter_req.TopicData(topic_id=topic_id, partitions=tuple(parts))
            for topic_id, parts in by_topic.items()
        ),
    )
    return request, sent


def committed_states(
    response: Any,
    sent: dict[tuple[uuid.UUID, int], Key],
    batch: dict[Key, Any],
    make_state: Callable[[PartitionImage], Any],
) -> dict[Key, Any]:
    """Each accepted partition's committed state from an AlterPartition response; a refused
    partition is left out (and logged) without affecting the others."""
    if response.error_code != ErrorCode.none:
        code = response.error_code.name
        log.info("The controller refused %d ISR change(s): %s", len(batch), code)
        return {}
    out: dict[Key, Any] = {}
    for t in response.topics:
        for p in t.partitions:
            key = sent.get((t.topic_id, int(p.partition_index)))
            if key is None:
                continue
            if p.error_code != ErrorCode.none:
                log.info("The controller refused the ISR of %s-%d: %s", *key, p.error_code.name)
                continue
            out[key] = make_state(
                PartitionImage(
                    replicas=batch[key].replicas,
                    isr=tuple(int(b) for b in p.isr),
                    leader=int(p.leader_id),
                    leader_epoch=int(p.leader_epoch),
                    partition_epoch=int(p.partition_epoch),
                )
            )
    return out
