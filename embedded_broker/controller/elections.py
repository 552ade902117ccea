"""ElectLeaders on the controller: preferred (the first replica takes over again) and unclean
(a partition without a leader takes any live replica); and the automatic preferred-leader
rebalance."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.handlers.util import NO_THROTTLE, build, response_module
from embedded_broker.metadata.records import NO_LEADER, MetadataRecord, PartitionChange

from .quorum import Controller, elect_leader

log = logging.getLogger(__name__)

PREFERRED, UNCLEAN = 0, 1


def _decide(
    controller: Controller, topic: str, index: int, election: int
) -> tuple[ErrorCode, str | None, PartitionChange | None]:
    image = controller.image
    t = image.topics.get(topic)
    part = t.partitions.get(index) if t is not None else None
    if t is None or part is None:
        return ErrorCode.unknown_topic_or_partition, None, None
    if election == PREFERRED:
        preferred = part.replicas[0]
        if part.leader == preferred:
            return ErrorCode.election_not_needed, "Leader is already the preferred replica.", None
        if preferred not in part.isr or not image.is_live(preferred):
            return (
                ErrorCode.preferred_leader_not_available,
                f"The preferred leader {preferred} is not live or not in the ISR.",
                None,
            )
        return ErrorCode.none, None, PartitionChange(t.topic_id, index, leader=preferred)
    if part.leader != NO_LEADER:
        return ErrorCode.election_not_needed, "The partition has a leader.", None
    leader, isr = elect_leader(image, part, part.isr, unclean=True)
    if leader == NO_LEADER:
        return ErrorCode.eligible_leaders_not_available, "No replica of it is live.", None
    return ErrorCode.none, None, PartitionChange(t.topic_id, index, leader=leader, isr=isr)


def _apply(controller: Controller, topic: str, index: int, election: int) -> list[MetadataRecord]:
    # decided again under the write lock, on the image as it is now
    code, _, change = _decide(controller, topic, index, election)
    return [change] if code == ErrorCode.none and change is not None else []


def rebalance_records(controller: Controller) -> list[MetadataRecord]:
    """Preferred-leader elections for every partition whose preferred replica is live and in
    sync but does not lead (auto.leader.rebalance.enable)."""
    out: list[MetadataRecord] = []
    image = controller.image
    for topic in image.topics.values():
        for index, part in topic.partitions.items():
            preferred = part.replicas[0]
            if part.leader != preferred and preferred in part.isr and image.is_live(preferred):
                out.append(PartitionChange(topic.topic_id, index, leader=preferred))
    return out


async def run_auto_rebalance(controller: Controller, interval_s: float) -> None:
    """Every leader.imbalance.check.interval.seconds from the controller's start, as Kafka's
    periodic "electPreferred" task. Kafka elects nothing better when a broker is unfenced (only
    partitions without a leader get one), so after a whole-cluster restart the first broker
    unfenced leads everything until this runs. A failed check is retried at the next one, as
    Kafka reschedules a failed periodic task, instead of ending the rebalancing for good."""
    moved: list[MetadataRecord] = []

    def build() -> list[MetadataRecord]:
        moved[:] = rebalance_records(controller)  # under the write lock: the image as it is
        return moved

    while True:
        await asyncio.sleep(interval_s)
        moved.clear()
        try:
            await controller.append(build)
        except Exception:  # a failed metadata write: the next check tries again
            log.exception("The preferred-leader check failed; trying again in %s s", interval_s)
            continue
        if moved:
            log.info("%d partition(s) led by their preferred replica again", len(moved))


async def elect_leaders(controller: Controller, request: Any) -> Any:
    mod = response_module(request)
    election = int(getattr(request, "election_type", PREFERRED))
    if request.topic_partitions is None:
        wanted = [(n, list(t.partitions)) for n, t in controller.image.topics.items()]
        quiet = True  # "all partitions": only those where something happened are listed
    else:
        wanted = [(tp.topic, [int(p) for p in tp.partitions]) for tp in request.topic_partitions]
        quiet = False
    results = []
    for topic, indexes in wanted:
        parts = []
        for index in indexes:
            code, message, change = _decide(controller, topic, index, election)
            if change is not None:
                await controller.append(partial(_apply, controller, topic, index, election))
            if quiet and code == ErrorCode.election_not_needed:
                continue
            parts.append(
                build(
                    mod.PartitionResult,
                    partition_id=index,
                    error_code=code,
                    error_message=message,
                )
            )
        if parts or not quiet:
            results.append(
                build(mod.ReplicaElectionResult, topic=topic, partition_result=tuple(parts))
            )
    return build(
        mod.ElectLeadersResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        replica_election_results=tuple(results),
    )
