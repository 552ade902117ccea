"""What a cluster-mode broker answers from its metadata image: Metadata, DescribeCluster, and
the admin requests it forwards to the controller."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kio.schema.create_topics.v7 import request as create_req
from kio.schema.errors import ErrorCode
from kio.schema.types import TopicName
from kio.static.primitive import i16, i32, i32Timedelta

from embedded_broker.handlers.util import NO_THROTTLE, build, response_module
from embedded_broker.metadata.image import TopicImage
from embedded_broker.registry import topic_name_error

from .channel import ControllerUnavailableError
from .link import BrokerLink

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

AUTHORIZED_OPS_OMITTED = -(2**31)


def _topic_entry(mod: Any, link: BrokerLink, topic: TopicImage, internal: bool) -> Any:
    image = link.image
    partitions = []
    for index, part in sorted(topic.partitions.items()):
        partitions.append(
            build(
                mod.MetadataResponsePartition,
                error_code=ErrorCode.none if part.leader >= 0 else ErrorCode.leader_not_available,
                partition_index=index,
                leader_id=part.leader,
                leader_epoch=part.leader_epoch,
                replica_nodes=part.replicas,
                isr_nodes=part.isr,
                offline_replicas=image.offline_replicas(part),
            )
        )
    return build(
        mod.MetadataResponseTopic,
        error_code=ErrorCode.none,
        name=topic.name,
        topic_id=topic.topic_id,
        is_internal=internal,
        partitions=tuple(partitions),
        topic_authorized_operations=AUTHORIZED_OPS_OMITTED,
    )


def _error_entry(mod: Any, name: str | None, topic_id: uuid.UUID | None, code: ErrorCode) -> Any:
    nullable = mod.MetadataResponse.__version__ >= 12
    return build(
        mod.MetadataResponseTopic,
        error_code=code,
        name=name if name is not None or nullable else "",
        topic_id=topic_id,
        is_internal=False,
        partitions=(),
        topic_authorized_operations=AUTHORIZED_OPS_OMITTED,
    )


@dataclass(frozen=True, slots=True)
class TopicView:
    """What DescribeTopicPartitions needs of a topic, read from the image."""

    topic_id: uuid.UUID
    partitions: int
    internal: bool


def topic_infos(link: BrokerLink) -> dict[str, TopicView]:
    return {
        name: TopicView(t.topic_id, len(t.partitions), False)
        for name, t in link.image.topics.items()
    }


def partition_fields(link: BrokerLink, topic: str, index: int) -> dict[str, Any]:
    part = link.image.topics[topic].partitions[index]
    return {
        "leader_id": part.leader,
        "leader_epoch": part.leader_epoch,
        "replica_nodes": part.replicas,
        "isr_nodes": part.isr,
        "offline_replicas": link.image.offline_replicas(part),
    }


async def _auto_create(link: BrokerLink, state: BrokerState, name: str) -> ErrorCode:
    request = create_req.CreateTopicsRequest(
        topics=(
            create_req.CreatableTopic(
                name=TopicName(name),
                num_partitions=i32(state.config.get_int("num.partitions")),
                replication_factor=i16(state.config.get_int("default.replication.factor")),
                assignments=(),
                configs=(),
            ),
        ),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=10)),
        validate_only=False,
    )
    try:
        response = await link.forward(request)
    except ControllerUnavailableError:
        return ErrorCode.unknown_topic_or_partition
    code: ErrorCode = response.topics[0].error_code
    return ErrorCode.none if code == ErrorCode.topic_already_exists else code


async def metadata(request: Any, state: BrokerState, link: BrokerLink, version: int) -> Any:
    """Metadata from the image: every live broker, and each partition's leader, replicas,
    ISR and offline replicas."""
    mod = response_module(request)
    image = link.image
    internal = {n for n, t in state.topics.items() if t.internal}
    requested = request.topics
    entries = []
    if requested is None or (version == 0 and not requested):
        entries = [_topic_entry(mod, link, t, t.name in internal) for t in image.topics.values()]
    else:
        allow_create = getattr(
            request, "allow_auto_topic_creation", True
        ) and state.config.get_bool("auto.create.topics.enable")
        for req in requested:
            name = getattr(req, "name", None)
            topic_id = getattr(req, "topic_id", None)
            if name is None and topic_id is not None and topic_id != uuid.UUID(int=0):
                by_id = image.by_id.get(topic_id)
                entries.append(
                    _error_entry(mod, None, topic_id, ErrorCode.unknown_topic_id)
                    if by_id is None
                    else _topic_entry(mod, link, by_id, by_id.name in internal)
                )
                continue
            if name is None:
                entries.append(_error_entry(mod, None, topic_id, ErrorCode.invalid_request))
                continue
            topic = image.topics.get(name)
            if topic is None:
                if topic_name_error(name) is not None:
                    code = ErrorCode.invalid_topic_exception
                elif not allow_create:
                    code = ErrorCode.unknown_topic_or_partition
                else:
                    code = await _auto_create(link, state, name)
                    topic = image.topics.get(name)
                    if code == ErrorCode.none and topic is None:
                        code = ErrorCode.leader_not_available  # not here yet: clients retry
                if topic is None:
                    entries.append(_error_entry(mod, name, None, code))
                    continue
            entries.append(_topic_entry(mod, link, topic, name in internal))
    brokers = tuple(
        build(
            mod.MetadataResponseBroker, node_id=b.broker_id, host=b.host, port=b.port, rack=b.rack
        )
        for b in image.live_brokers()
    )
    return build(
        mod.MetadataResponse,
        throttle_time=NO_THROTTLE,
        brokers=brokers,
        cluster_id=link.cluster_id,
        # KRaft brokers name a live broker as the controller: the real one is not reachable
        # by clients, and any broker forwards admin requests to it
        controller_id=state.node_id,
        topics=tuple(entries),
        cluster_authorized_operations=AUTHORIZED_OPS_OMITTED,
        error_code=ErrorCode.none,
    )


def describe_cluster(request: Any, state: BrokerState, link: BrokerLink) -> Any:
    mod = response_module(request)
    brokers = tuple(
        build(
            mod.DescribeClusterBroker,
            broker_id=b.broker_id,
            host=b.host,
            port=b.port,
            rack=b.rack,
            is_fenced=False,
        )
        for b in link.image.live_brokers()
    )
    return build(
        mod.DescribeClusterResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        endpoint_type=1,
        cluster_id=link.cluster_id,
        controller_id=state.node_id,
        brokers=brokers,
        cluster_authorized_operations=AUTHORIZED_OPS_OMITTED,
    )


def _failed(request: Any, code: ErrorCode, message: str) -> Any:
    """The admin request's response with every entry failed with ``code`` and ``message``."""
    mod = response_module(request)
    key = request.__api_key__
    if key == 19:
        return build(
            mod.CreateTopicsResponse,
            throttle_time=NO_THROTTLE,
            topics=tuple(
                build(
                    mod.CreatableTopicResult,
                    name=t.name,
                    topic_id=None,
                    error_code=code,
                    error_message=message,
                    topic_config_error_code=0,
                    num_partitions=-1,
                    replication_factor=-1,
                    configs=None,
                )
                for t in request.topics
            ),
        )
    if key == 20:
        wanted = (
            [(t.name, t.topic_id) for t in request.topics]
            if hasattr(request, "topics")
            else [(n, None) for n in request.topic_names]
        )
        return build(
            mod.DeleteTopicsResponse,
            throttle_time=NO_THROTTLE,
            responses=tuple(
                build(
                    mod.DeletableTopicResult,
                    name=n if n is not None or request.__version__ >= 6 else "",
                    topic_id=i,
                    error_code=code,
                    error_message=message,
                )
                for n, i in wanted
            ),
        )
    if key == 37:
        return build(
            mod.CreatePartitionsResponse,
            throttle_time=NO_THROTTLE,
            results=tuple(
                build(
                    mod.CreatePartitionsTopicResult,
                    name=t.name,
                    error_code=code,
                    error_message=message,
                )
                for t in request.topics
            ),
        )
    if key == 45:
        return build(
            mod.AlterPartitionReassignmentsResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            error_message=message,
            responses=(),
        )
    if key == 46:
        return build(
            mod.ListPartitionReassignmentsResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            error_message=message,
            topics=(),
        )
    if key == 43:
        topics = request.topic_partitions or ()
        return build(
            mod.ElectLeadersResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            replica_election_results=tuple(
                build(
                    mod.ReplicaElectionResult,
                    topic=tp.topic,
                    partition_result=tuple(
                        build(
                            mod.PartitionResult,
                            partition_id=p,
                            error_code=code,
                            error_message=message,
                        )
                        for p in tp.partitions
                    ),
                )
                for tp in topics
            ),
        )
    response_type = mod.AlterConfigsResponse if key == 33 else mod.IncrementalAlterConfigsResponse
    return build(
        response_type,
        throttle_time=NO_THROTTLE,
        responses=tuple(
            build(
                mod.AlterConfigsResourceResponse,
                error_code=code,
                error_message=message,
                resource_type=r.resource_type,
                resource_name=r.resource_name,
            )
            for r in request.resources
        ),
    )


async def forward(request: Any, link: BrokerLink) -> Any:
    """Relay an admin request (CreateTopics, DeleteTopics, CreatePartitions,
    IncrementalAlterConfigs) to the controller and its answer back, as KRaft brokers do."""
    try:
        return await link.forward(request)
    except ControllerUnavailableError:
        return _failed(request, ErrorCode.request_timed_out, link.unavailable_message())
