"""Partition reassignments on the controller (AlterPartitionReassignments and
ListPartitionReassignments), completed once every target replica is in sync, as KRaft does."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.handlers.util import NO_THROTTLE, build, response_module
from embedded_broker.metadata.image import PartitionImage
from embedded_broker.metadata.records import NO_LEADER, MetadataRecord, PartitionChange

from .quorum import Controller


def _original(part: PartitionImage) -> tuple[int, ...]:
    """The replicas before the reassignment in progress (all of them when there is none)."""
    return tuple(r for r in part.replicas if r not in part.adding)


def _settle(
    controller: Controller,
    topic_id: uuid.UUID,
    index: int,
    part: PartitionImage,
    replicas: tuple[int, ...],
) -> PartitionChange:
    """The change that ends a reassignment with ``replicas``: the ISR keeps only them, and a
    leader outside them hands over to the first of them in sync."""
    isr = tuple(r for r in part.isr if r in replicas)
    leader = part.leader
    if leader not in replicas:
        leader = next((r for r in replicas if r in isr and controller.image.is_live(r)), NO_LEADER)
    return PartitionChange(
        topic_id,
        index,
        leader=leader,
        isr=isr or part.isr,
        replicas=replicas,
        adding=(),
        removing=(),
    )


def start_records(
    controller: Controller, topic_id: uuid.UUID, index: int, target: tuple[int, ...] | None
) -> list[MetadataRecord]:
    """Start (or replace, or with ``target`` None cancel) the reassignment of a partition."""
    topic = controller.image.by_id.get(topic_id)
    part = topic.partitions.get(index) if topic is not None else None
    if part is None:
        return []
    original = _original(part)
    if target is None:
        return [_settle(controller, topic_id, index, part, original)] if part.reassigning else []
    if target == part.replicas and not part.reassigning:
        return []
    adding = tuple(r for r in target if r not in original)
    removing = tuple(r for r in original if r not in target)
    if not adding:  # nothing to copy: done at once
        return [_settle(controller, topic_id, index, part, target)]
    merged = target + removing  # Kafka lists the target first, then those leaving
    return [PartitionChange(topic_id, index, replicas=merged, adding=adding, removing=removing)]


def completion_records(controller: Controller) -> list[MetadataRecord]:
    """End every reassignment whose target replicas are all in the ISR."""
    out: list[MetadataRecord] = []
    for topic in controller.image.topics.values():
        for index, part in topic.partitions.items():
            if not part.reassigning:
                continue
            target = tuple(r for r in part.replicas if r not in part.removing)
            if all(r in part.isr for r in target):
                out.append(_settle(controller, topic.topic_id, index, part, target))
    return out


def _check(
    controller: Controller, name: str, index: int, replicas: tuple[int, ...] | None
) -> tuple[ErrorCode, str | None]:
    topic = controller.image.topics.get(name)
    part = topic.partitions.get(index) if topic is not None else None
    if part is None:
        return ErrorCode.unknown_topic_or_partition, f"Unknown partition {name}-{index}."
    if replicas is None:
        if not part.reassigning:
            return (
                ErrorCode.no_reassignment_in_progress,
                f"No reassignment of {name}-{index} is in progress.",
            )
        return ErrorCode.none, None
    if not replicas or len(set(replicas)) != len(replicas):
        return ErrorCode.invalid_replica_assignment, "The replica list is empty or has duplicates."
    unknown = [r for r in replicas if r not in controller.image.brokers]
    if unknown:
        return ErrorCode.invalid_replica_assignment, f"Broker(s) {unknown} are not registered."
    return ErrorCode.none, None


async def alter_partition_reassignments(controller: Controller, request: Any) -> Any:
    mod = response_module(request)
    responses = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            index = int(p.partition_index)
            replicas = None if p.replicas is None else tuple(int(r) for r in p.replicas)
            code, message = _check(controller, t.name, index, replicas)
            if code == ErrorCode.none:
                topic_id = controller.image.topics[t.name].topic_id
                await controller.append(
                    partial(start_records, controller, topic_id, index, replicas)
                )
            parts.append(
                build(
                    mod.ReassignablePartitionResponse,
                    partition_index=index,
                    error_code=code,
                    error_message=message,
                )
            )
        responses.append(build(mod.ReassignableTopicResponse, name=t.name, partitions=tuple(parts)))
    await controller.append(partial(completion_records, controller))
    return build(
        mod.AlterPartitionReassignmentsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        responses=tuple(responses),
    )


async def list_partition_reassignments(controller: Controller, request: Any) -> Any:
    mod = response_module(request)
    image = controller.image
    if request.topics is None:
        wanted = [(name, list(t.partitions)) for name, t in image.topics.items()]
    else:
        wanted = [(t.name, [int(i) for i in t.partition_indexes]) for t in request.topics]
    topics = []
    for name, indexes in wanted:
        topic = image.topics.get(name)
        if topic is None:
            continue
        parts = [
            build(
                mod.OngoingPartitionReassignment,
                partition_index=i,
                replicas=topic.partitions[i].replicas,
                adding_replicas=topic.partitions[i].adding,
                removing_replicas=topic.partitions[i].removing,
            )
            for i in indexes
            if i in topic.partitions and topic.partitions[i].reassigning
        ]
        if parts:
            topics.append(build(mod.OngoingTopicReassignment, name=name, partitions=tuple(parts)))
    return build(
        mod.ListPartitionReassignmentsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        topics=tuple(topics),
    )
