"""AlterReplicaLogDirs (the broker has one log dir, so a replica can only stay where it is) and
ListConfigResources (the resources that have configs: this broker, its loggers and the topics)."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link import views as cluster_views
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.share.runtime import share_coordinator
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .cluster import log_dir_name
from .configs import BROKER, BROKER_LOGGER, TOPIC
from .util import NO_THROTTLE, build, response_module

CLIENT_METRICS = 16
GROUP = 32
KNOWN_TYPES = (TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP)


async def handle_alter_replica_log_dirs(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    """Kafka's checks in Kafka's order: a directory that is not a log dir of this broker is
    LOG_DIR_NOT_FOUND; a partition it does not host is UNKNOWN_TOPIC_OR_PARTITION; a replica
    asked to move to the dir it is in already stays, which succeeds."""
    mod = response_module(request)
    here = log_dir_name(state)
    by_topic: dict[str, list[Any]] = {}
    for wanted in request.dirs:
        for topic in wanted.topics:
            for index in topic.partitions:
                if wanted.path != here:
                    code = ErrorCode.log_dir_not_found
                elif state.partition(topic.name, int(index)) is None:
                    code = ErrorCode.unknown_topic_or_partition
                else:
                    code = ErrorCode.none
                by_topic.setdefault(topic.name, []).append(
                    build(
                        mod.AlterReplicaLogDirPartitionResult,
                        partition_index=index,
                        error_code=code,
                    )
                )
    results = tuple(
        build(mod.AlterReplicaLogDirTopicResult, topic_name=name, partitions=tuple(parts))
        for name, parts in by_topic.items()
    )
    return build(mod.AlterReplicaLogDirsResponse, throttle_time=NO_THROTTLE, results=results)


def _resources(state: BrokerState, kinds: set[int]) -> list[tuple[str, int]]:
    link = cluster_link(state)
    brokers = sorted(link.image.brokers) if link is not None else [state.node_id]
    topics = cluster_views.topic_infos(link) if link is not None else state.topics
    found: list[tuple[str, int]] = []
    for kind in (BROKER_LOGGER, BROKER):
        if kind in kinds:
            found += [(str(b), kind) for b in brokers]
    if TOPIC in kinds:
        found += [(name, TOPIC) for name in sorted(topics)]
    # client metrics subscriptions: this broker keeps none (group configs: the caller adds)
    return found


async def handle_list_config_resources(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    """v0 lists client-metrics resources only (none here); v1 lists the asked types, every
    type for an empty list; a type Kafka does not know is UNSUPPORTED_VERSION, as Kafka
    answers."""
    mod = response_module(request)
    asked = {int(t) for t in getattr(request, "resource_types", (CLIENT_METRICS,))}
    if any(t not in KNOWN_TYPES for t in asked):
        return build(
            mod.ListConfigResourcesResponse,
            throttle_time=NO_THROTTLE,
            error_code=ErrorCode.unsupported_version,
            config_resources=(),
        )
    found = _resources(state, asked or set(KNOWN_TYPES))
    if not asked or GROUP in asked:  # the groups with share.* configs of their own
        found += [(g, GROUP) for g in sorted((await share_coordinator(state)).group_configs)]
    return build(
        mod.ListConfigResourcesResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        config_resources=tuple(
            build(mod.ConfigResource, resource_name=name, resource_type=kind)
            for name, kind in found
        ),
    )


APIS = (
    ApiSpec(34, 1, 2, handle_alter_replica_log_dirs),
    ApiSpec(74, 0, 1, handle_list_config_resources),
)
