"""CreateTopics, DeleteTopics and CreatePartitions with Kafka's validation rules and messages."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link import views as cluster_views
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.config import ConfigError
from embedded_broker.limits import MAX_PARTITIONS, TOO_MANY_PARTITIONS
from embedded_broker.registry import topic_name_error
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError
from embedded_broker.topic_configs import TOPIC_CONFIGS, validate_topic_configs

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module

_TOO_MANY = TOO_MANY_PARTITIONS

SOURCE_TOPIC = 1
SOURCE_DYNAMIC_BROKER = 2
SOURCE_STATIC_BROKER = 4
SOURCE_DEFAULT = 5
SOURCE_CODES = {
    "TOPIC_CONFIG": SOURCE_TOPIC,
    "DYNAMIC_BROKER_CONFIG": SOURCE_DYNAMIC_BROKER,
    "STATIC_BROKER_CONFIG": SOURCE_STATIC_BROKER,
    "DEFAULT_CONFIG": SOURCE_DEFAULT,
}


class _FailError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _check_topic(state: BrokerState, t: Any) -> tuple[int, int, dict[str, str]]:
    name_problem = topic_name_error(t.name)
    if name_problem is not None:
        raise _FailError(ErrorCode.invalid_topic_exception, name_problem)
    if t.name in state.topics or state.is_creating(t.name):
        raise _FailError(ErrorCode.topic_already_exists, f"Topic '{t.name}' already exists.")
    partitions = t.num_partitions
    rf = t.replication_factor
    if t.assignments:
        if partitions != -1 or rf != -1:
            raise _FailError(
                ErrorCode.invalid_request,
                "Both numPartitions or replicationFactor and replicasAssignments were set. "
                "Both cannot be used at the same time.",
            )
        for a in t.assignments:
            if tuple(a.broker_ids) != (state.node_id,):
                raise _FailError(
                    ErrorCode.invalid_replica_assignment,
                    f"The manual partition assignment includes broker(s) other than "
                    f"{state.node_id}, or more than one replica.",
                )
        partitions, rf = len(t.assignments), 1
    if partitions == -1:
        partitions = state.config.get_int("num.partitions")
    if partitions <= 0:
        raise _FailError(
            ErrorCode.invalid_partitions, "Number of partitions must be larger than 0."
        )
    if partitions > MAX_PARTITIONS:
        raise _FailError(ErrorCode.invalid_partitions, _TOO_MANY)
    if rf == -1:
        rf = state.config.get_int("default.replication.factor")
    if rf <= 0:
        raise _FailError(
            ErrorCode.invalid_replication_factor, "Replication factor must be larger than 0."
        )
    if rf > 1:
        raise _FailError(
            ErrorCode.invalid_replication_factor,
            f"Unable to replicate the partition {rf} time(s): The target replication factor "
            f"of {rf} cannot be reached because only 1 broker(s) are registered.",
        )
    try:
        configs = validate_topic_configs({c.name: c.value for c in t.configs})
    except ConfigError as exc:
        raise _FailError(ErrorCode.invalid_config, str(exc)) from None
    return partitions, rf, configs


def _config_entries(mod: Any, state: BrokerState, overrides: dict[str, str]) -> tuple[Any, ...]:
    from embedded_broker.topic_configs import broker_default

    out = []
    for name in TOPIC_CONFIGS:
        if name in overrides:
            value, source = overrides[name], SOURCE_TOPIC
        else:
            value, src, _ = broker_default(name, state.config)
            source = SOURCE_CODES[src]
        out.append(
            build(
                mod.CreatableTopicConfigs,
                name=name,
                value=value,
                read_only=False,
                config_source=source,
                is_sensitive=False,
            )
        )
    return tuple(out)


def _with_configs(response: Any, request: Any, state: BrokerState) -> Any:
    """The controller's CreateTopics answer with each created topic's configs filled in, as
    a Kafka broker answers (v5+): the Java admin client fails on a created topic without
    them."""
    mod = response_module(request)
    if not hasattr(mod, "CreatableTopicConfigs"):
        return response
    asked = {t.name: {c.name: c.value for c in t.configs} for t in request.topics}
    results = tuple(
        dataclasses.replace(r, configs=_config_entries(mod, state, asked.get(r.name, {})))
        if r.error_code == ErrorCode.none and r.configs is None
        else r
        for r in response.topics
    )
    return dataclasses.replace(response, topics=results)


async def handle_create_topics(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if (link := cluster_link(state)) is not None:
        return _with_configs(await cluster_views.forward(request, link), request, state)
    mod = response_module(request)
    counts: dict[str, int] = {}
    for t in request.topics:
        counts[t.name] = counts.get(t.name, 0) + 1
    results = []
    for t in request.topics:
        topic_id: uuid.UUID | None = None
        partitions = rf = -1
        configs_out: tuple[Any, ...] | None = None
        code, message = ErrorCode.none, None
        try:
            if counts[t.name] > 1:
                raise _FailError(
                    ErrorCode.invalid_request,
                    f"Create topics request from client contains a duplicate topic: {t.name}",
                )
            partitions, rf, configs = _check_topic(state, t)
            if not request.validate_only:
                try:
                    info = await state.create_topic_async(t.name, partitions, configs)
                except (StorageError, OSError) as exc:
                    raise _FailError(
                        ErrorCode.kafka_storage_error,
                        f"Could not create topic '{t.name}': {exc}. Check the broker's disk "
                        "(free space, permissions) and try again.",
                    ) from None
                topic_id = info.topic_id
            if hasattr(mod, "CreatableTopicConfigs"):
                configs_out = _config_entries(mod, state, configs)
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
                configs=configs_out if code == ErrorCode.none else None,
            )
        )
    return build(mod.CreateTopicsResponse, throttle_time=NO_THROTTLE, topics=tuple(results))


async def _delete_one(
    state: BrokerState, name: str | None, topic_id: uuid.UUID | None
) -> tuple[ErrorCode, str | None, uuid.UUID | None, str | None]:
    if name is None and topic_id is not None and topic_id != uuid.UUID(int=0):
        info = state.registry.by_id.get(topic_id)
        if info is None:
            return (
                ErrorCode.unknown_topic_id,
                None,
                topic_id,
                "This server does not host this topic ID.",
            )
        name = info.name
    if name is None:
        return ErrorCode.invalid_request, None, topic_id, "Neither topic name nor id was given."
    info = state.topics.get(name)
    if info is None:
        return (
            ErrorCode.unknown_topic_or_partition,
            name,
            topic_id,
            "This server does not host this topic-partition.",
        )
    if not state.config.get_bool("delete.topic.enable"):
        return ErrorCode.topic_deletion_disabled, name, info.topic_id, "Topic deletion is disabled."
    if info.internal:
        return (
            ErrorCode.invalid_topic_exception,
            name,
            info.topic_id,
            "Cannot delete internal topic",
        )
    await state.delete_topic_async(name)
    return ErrorCode.none, name, info.topic_id, None


async def handle_delete_topics(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if (link := cluster_link(state)) is not None:
        return await cluster_views.forward(request, link)
    mod = response_module(request)
    if hasattr(request, "topics"):
        wanted = [(t.name, t.topic_id) for t in request.topics]
    else:
        wanted = [(n, None) for n in request.topic_names]
    results = []
    for name, topic_id in wanted:
        code, rname, rid, message = await _delete_one(state, name, topic_id)
        results.append(
            build(
                mod.DeletableTopicResult,
                name=rname if rname is not None or ctx.api_version >= 6 else "",
                topic_id=rid,
                error_code=code,
                error_message=message,
            )
        )
    return build(mod.DeleteTopicsResponse, throttle_time=NO_THROTTLE, responses=tuple(results))


async def handle_create_partitions(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if (link := cluster_link(state)) is not None:
        return await cluster_views.forward(request, link)
    mod = response_module(request)
    results = []
    for t in request.topics:
        code, message = ErrorCode.none, None
        info = state.topics.get(t.name)
        if info is None:
            code = ErrorCode.unknown_topic_or_partition
            message = f"The topic '{t.name}' does not exist."
        elif t.count == info.partitions:
            code, message = ErrorCode.invalid_partitions, f"Topic already has {t.count} partitions."
        elif t.count > MAX_PARTITIONS:
            code, message = ErrorCode.invalid_partitions, _TOO_MANY
        elif t.count < info.partitions:
            code = ErrorCode.invalid_partitions
            message = (
                f"Topic currently has {info.partitions} partitions, which is higher than "
                f"the requested {t.count}."
            )
        elif t.assignments and any(tuple(a.broker_ids) != (state.node_id,) for a in t.assignments):
            code = ErrorCode.invalid_replica_assignment
            message = f"Only broker {state.node_id} exists."
        elif not request.validate_only:
            try:
                await state.add_partitions_async(t.name, t.count)
            except (StorageError, OSError) as exc:
                code = ErrorCode.kafka_storage_error
                message = (
                    f"Could not add partitions to topic '{t.name}': {exc}. Check the broker's "
                    "disk (free space, permissions) and try again."
                )
        results.append(
            build(
                mod.CreatePartitionsTopicResult, name=t.name, error_code=code, error_message=message
            )
        )
    return build(mod.CreatePartitionsResponse, throttle_time=NO_THROTTLE, results=tuple(results))


APIS = (
    ApiSpec(19, 2, 7, handle_create_topics),
    ApiSpec(20, 1, 6, handle_delete_topics),
    ApiSpec(37, 0, 3, handle_create_partitions),
)
