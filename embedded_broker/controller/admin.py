"""The admin APIs that change metadata, served by the controller: CreateTopics, DeleteTopics,
CreatePartitions and topic configs (brokers forward them here)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.config import BrokerConfig, ConfigError
from embedded_broker.handlers.util import NO_THROTTLE, build, response_module
from embedded_broker.limits import MAX_PARTITIONS, TOO_MANY_PARTITIONS
from embedded_broker.metadata.image import TOPIC_RESOURCE
from embedded_broker.metadata.records import (
    ConfigRecord,
    MetadataRecord,
    PartitionRecord,
    RemoveTopic,
    TopicRecord,
)
from embedded_broker.registry import topic_name_error
from embedded_broker.topic_configs import validate_topic_configs

from .placement import PlacementError, assign_replicas
from .quorum import Controller


class _FailError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _live(controller: Controller) -> list[tuple[int, str | None]]:
    return [(b.broker_id, b.rack) for b in controller.image.live_brokers()]


def _place(
    controller: Controller, partitions: int, rf: int, first_partition: int = 0
) -> list[tuple[int, ...]]:
    """Replica lists as Kafka's controller places them: a replication factor up to the number
    of registered brokers, fenced ones included (a broker that is registering again, or
    catching up, is a follower that will join the ISR), but each partition led by an unfenced
    broker; with none unfenced, nothing can be placed."""
    live = _live(controller)
    if not live:
        raise PlacementError(
            f"Unable to replicate the partition {rf} time(s): All brokers are currently fenced."
        )
    if rf <= len(live):  # the usual case: only on brokers that serve now
        return assign_replicas(live, partitions, rf, first_partition=first_partition)
    registered = [(b.broker_id, b.rack) for b in controller.image.brokers.values()]
    placed = assign_replicas(registered, partitions, rf, first_partition=first_partition)
    serving = [b for b, _ in live]
    out = []
    for i, drawn in enumerate(placed):
        replicas = drawn
        leader = next((r for r in drawn if r in serving), None)
        if leader is None:  # only fenced brokers drawn: the last one gives way
            leader = serving[i % len(serving)]
            replicas = (*drawn[:-1], leader)
        out.append((leader, *(r for r in replicas if r != leader)))
    return out


def _check_assignments(controller: Controller, t: Any) -> list[tuple[int, ...]]:
    out = []
    for a in sorted(t.assignments, key=lambda a: a.partition_index):
        replicas = tuple(int(b) for b in a.broker_ids)
        if not replicas or len(set(replicas)) != len(replicas):
            raise _FailError(
                ErrorCode.invalid_replica_assignment,
                f"Partition {a.partition_index} has an empty or duplicated replica list.",
            )
        unknown = [b for b in replicas if b not in controller.image.brokers]
        if unknown:
            raise _FailError(
                ErrorCode.invalid_replica_assignment,
                f"The manual partition assignment includes broker(s) {unknown} that are not "
                "registered.",
            )
        out.append(replicas)
    return out


def _plan_topic(
    controller: Controller, config: BrokerConfig, t: Any
) -> tuple[list[tuple[int, ...]], dict[str, str]]:
    name_problem = topic_name_error(t.name)
    if name_problem is not None:
        raise _FailError(ErrorCode.invalid_topic_exception, name_problem)
    if t.name in controller.image.topics:
        raise _FailError(ErrorCode.topic_already_exists, f"Topic '{t.name}' already exists.")
    try:
        configs = validate_topic_configs({c.name: c.value for c in t.configs})
    except ConfigError as exc:
        raise _FailError(ErrorCode.invalid_config, str(exc)) from None
    if t.assignments:
        if t.num_partitions != -1 or t.replication_factor != -1:
            raise _FailError(
                ErrorCode.invalid_request,
                "Both numPartitions or replicationFactor and replicasAssignments were set. "
                "Both cannot be used at the same time.",
            )
        return _check_assignments(controller, t), configs
    partitions = t.num_partitions
    if partitions == -1:
        partitions = config.get_int("num.partitions")
    if partitions <= 0:
        raise _FailError(
            ErrorCode.invalid_partitions, "Number of partitions must be larger than 0."
        )
    if partitions > MAX_PARTITIONS:
        raise _FailError(ErrorCode.invalid_partitions, TOO_MANY_PARTITIONS)
    rf = t.replication_factor
    if rf == -1:
        rf = config.get_int("default.replication.factor")
    if rf <= 0:
        raise _FailError(
            ErrorCode.invalid_replication_factor, "Replication factor must be larger than 0."
        )
    try:
        return _place(controller, partitions, rf), configs
    except PlacementError as exc:
        raise _FailError(ErrorCode.invalid_replication_factor, str(exc)) from None


def _partition_records(
    topic_id: uuid.UUID, first: int, assignment: list[tuple[int, ...]], controller: Controller
) -> list[MetadataRecord]:
    out: list[MetadataRecord] = []
    for i, replicas in enumerate(assignment):
        isr = tuple(r for r in replicas if controller.image.is_live(r)) or replicas
        leader = next((r for r in replicas if controller.image.is_live(r)), -1)
        out.append(PartitionRecord(topic_id, first + i, replicas, isr, leader, 0, 0))
    return out


def _grow_records(
    controller: Controller, tid: uuid.UUID, first: int, assignment: list[tuple[int, ...]]
) -> list[MetadataRecord]:
    now = controller.image.by_id.get(tid)
    if now is None or len(now.partitions) != first:  # changed meanwhile
        return []
    return _partition_records(tid, first, assignment, controller)


def _config_records(name: str, changes: dict[str, str | None]) -> list[MetadataRecord]:
    return [ConfigRecord(TOPIC_RESOURCE, name, k, v) for k, v in changes.items()]


async def create_topics(controller: Controller, config: BrokerConfig, request: Any) -> Any:
    mod = response_module(request)
    counts: dict[str, int] = {}
    for t in request.topics:
        counts[t.name] = counts.get(t.name, 0) + 1
    results = []
    for t in request.topics:
        topic_id: uuid.UUID | None = None
        partitions = rf = -1
        code, message = ErrorCode.none, None
        try:
            if counts[t.name] > 1:
                raise _FailError(
                    ErrorCode.invalid_request,
                    f"Create topics request from client contains a duplicate topic: {t.name}",
                )
            assignment, configs = _plan_topic(controller, config, t)
            partitions, rf = len(assignment), len(assignment[0])
            if not request.validate_only:
                new_id = uuid.uuid4()

                def records(
                    t: Any = t, new_id: uuid.UUID = new_id, a: Any = assignment, c: Any = configs
                ) -> list[MetadataRecord]:
                    if t.name in controller.image.topics:  # created meanwhile
                        return []
                    out: list[MetadataRecord] = [TopicRecord(t.name, new_id)]
                    out += [ConfigRecord(TOPIC_RESOURCE, t.name, k, v) for k, v in c.items()]
                    return out + _partition_records(new_id, 0, a, controller)

                await controller.append(records)
                topic_id = new_id
        except _FailError as fail:
            code, message = fail.code, fail.message
            partitions = rf = -1
        results.append(
            build(
                mod.CreatableTopicResult,
                name=t.name,
                topic_id=topic_id,
                error_code=code,
                error_message=message,
                topic_config_error_code=0,
                num_partitions=partitions,
                replication_factor=rf,
                configs=None,
            )
        )
    return build(mod.CreateTopicsResponse, throttle_time=NO_THROTTLE, topics=tuple(results))


async def delete_topics(controller: Controller, config: BrokerConfig, request: Any) -> Any:
    mod = response_module(request)
    if hasattr(request, "topics"):
        wanted = [(t.name, t.topic_id) for t in request.topics]
    else:
        wanted = [(n, None) for n in request.topic_names]
    results = []
    for name, topic_id in wanted:
        code, message = ErrorCode.none, None
        topic = None
        if name is None and topic_id is not None:
            topic = controller.image.by_id.get(topic_id)
            if topic is None:
                code = ErrorCode.unknown_topic_id
                message = "This server does not host this topic ID."
        elif name is not None:
            topic = controller.image.topics.get(name)
            if topic is None:
                code = ErrorCode.unknown_topic_or_partition
                message = "This server does not host this topic-partition."
        else:
            code, message = ErrorCode.invalid_request, "Neither topic name nor id was given."
        if topic is not None and not config.get_bool("delete.topic.enable"):
            code, message = ErrorCode.topic_deletion_disabled, "Topic deletion is disabled."
        elif topic is not None:
            tid = topic.topic_id

            def remove(tid: uuid.UUID = tid) -> list[MetadataRecord]:
                return [RemoveTopic(tid)] if tid in controller.image.by_id else []

            await controller.append(remove)
        results.append(
            build(
                mod.DeletableTopicResult,
                name=topic.name if topic is not None else (name or ""),
                topic_id=topic.topic_id if topic is not None else topic_id,
                error_code=code,
                error_message=message,
            )
        )
    return build(mod.DeleteTopicsResponse, throttle_time=NO_THROTTLE, responses=tuple(results))


async def create_partitions(controller: Controller, config: BrokerConfig, request: Any) -> Any:
    mod = response_module(request)
    results = []
    for t in request.topics:
        code, message = ErrorCode.none, None
        topic = controller.image.topics.get(t.name)
        try:
            if topic is None:
                raise _FailError(
                    ErrorCode.unknown_topic_or_partition, f"The topic '{t.name}' does not exist."
                )
            have = len(topic.partitions)
            if t.count == have:
                raise _FailError(
                    ErrorCode.invalid_partitions, f"Topic already has {t.count} partitions."
                )
            if t.count < have:
                raise _FailError(
                    ErrorCode.invalid_partitions,
                    f"Topic currently has {have} partitions, which is higher than the "
                    f"requested {t.count}.",
                )
            if t.count > MAX_PARTITIONS:
                raise _FailError(ErrorCode.invalid_partitions, TOO_MANY_PARTITIONS)
            if t.assignments:
                assignment = _check_assignments(controller, t)
            else:
                rf = len(topic.partitions[0].replicas)
                try:
                    assignment = _place(controller, t.count - have, rf, first_partition=have)
                except PlacementError as exc:
                    raise _FailError(ErrorCode.invalid_replication_factor, str(exc)) from None
            if not request.validate_only:
                await controller.append(
                    partial(_grow_records, controller, topic.topic_id, have, assignment)
                )
        except _FailError as fail:
            code, message = fail.code, fail.message
        results.append(
            build(
                mod.CreatePartitionsTopicResult, name=t.name, error_code=code, error_message=message
            )
        )
    return build(mod.CreatePartitionsResponse, throttle_time=NO_THROTTLE, results=tuple(results))


OP_SET, OP_DELETE = 0, 1


async def incremental_alter_configs(
    controller: Controller, config: BrokerConfig, request: Any
) -> Any:
    """Topic configs (SET and DELETE); broker configs stay per broker for now."""
    return await _alter_configs(controller, request, replace=False)


async def alter_configs(controller: Controller, config: BrokerConfig, request: Any) -> Any:
    """The legacy AlterConfigs: the given configs replace all of a topic's overrides."""
    return await _alter_configs(controller, request, replace=True)


async def _alter_configs(controller: Controller, request: Any, *, replace: bool) -> Any:
    mod = response_module(request)
    results = []
    for res in request.resources:
        code, message = ErrorCode.none, None
        try:
            if res.resource_type != TOPIC_RESOURCE:
                raise _FailError(
                    ErrorCode.invalid_request,
                    "In a cluster only topic configs can be changed for now.",
                )
            if res.resource_name not in controller.image.topics:
                raise _FailError(
                    ErrorCode.unknown_topic_or_partition,
                    f"The topic '{res.resource_name}' does not exist.",
                )
            changes: dict[str, str | None] = {}
            if replace:
                changes = dict.fromkeys(controller.image.topic_configs(res.resource_name))
                changes.update({c.name: c.value for c in res.configs})
            for c in () if replace else res.configs:
                if c.config_operation == OP_SET:
                    changes[c.name] = c.value
                elif c.config_operation == OP_DELETE:
                    changes[c.name] = None
                else:
                    raise _FailError(
                        ErrorCode.invalid_request,
                        "Only SET and DELETE are supported for topic configs in a cluster.",
                    )
            try:
                validate_topic_configs({k: v for k, v in changes.items() if v is not None})
            except ConfigError as exc:
                raise _FailError(ErrorCode.invalid_config, str(exc)) from None
            if not request.validate_only:
                await controller.append(partial(_config_records, res.resource_name, changes))
        except _FailError as fail:
            code, message = fail.code, fail.message
        results.append(
            build(
                mod.AlterConfigsResourceResponse,
                error_code=code,
                error_message=message,
                resource_type=res.resource_type,
                resource_name=res.resource_name,
            )
        )
    response_type = mod.AlterConfigsResponse if replace else mod.IncrementalAlterConfigsResponse
    return build(response_type, throttle_time=NO_THROTTLE, responses=tuple(results))
