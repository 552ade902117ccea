"""The broker-facing controller APIs: BrokerRegistration, BrokerHeartbeat, AlterPartition and
Fetch of the metadata log (how brokers follow it)."""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.handlers.util import NO_THROTTLE, build, ms, response_module
from embedded_broker.metadata.batch import encode_batch
from embedded_broker.metadata.image import PartitionImage
from embedded_broker.metadata.log import METADATA_TOPIC
from embedded_broker.metadata.records import MetadataRecord, PartitionChange, RegisterBroker

from .quorum import Controller
from .reassign import completion_records

log = logging.getLogger(__name__)

MAX_RECORDS_PER_FETCH = 2000
MAX_FETCH_WAIT_S = 1.0


async def broker_registration(controller: Controller, cluster_id: str, request: Any) -> Any:
    mod = response_module(request)

    def reply(code: ErrorCode, epoch: int = -1) -> Any:
        return build(
            mod.BrokerRegistrationResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            broker_epoch=epoch,
        )

    if request.cluster_id != cluster_id:
        return reply(ErrorCode.inconsistent_cluster_id)
    listener = next(iter(request.listeners), None)
    if listener is None:
        return reply(ErrorCode.invalid_request)
    broker_id = int(request.broker_id)
    incarnation = str(request.incarnation_id)
    known = controller.image.brokers.get(broker_id)
    if known is not None and known.incarnation_id == incarnation:
        controller.heartbeat(broker_id)
        return reply(ErrorCode.none, known.epoch)  # a retried registration

    def records() -> list[MetadataRecord]:
        # a new incarnation of a live broker (killed and back before its session ran out):
        # fence the old one first so its partitions move as they would have
        out = controller.fence_records(broker_id)
        record = RegisterBroker(
            broker_id, listener.host, int(listener.port), request.rack, incarnation
        )
        return [*out, record]

    end = await controller.append(records)
    controller.heartbeat(broker_id)
    log.info("Broker %d registered (%s:%d)", broker_id, listener.host, listener.port)
    return reply(ErrorCode.none, end - 1)


async def broker_heartbeat(controller: Controller, request: Any) -> Any:
    mod = response_module(request)
    broker_id = int(request.broker_id)
    broker = controller.image.brokers.get(broker_id)

    def reply(code: ErrorCode, fenced: bool, caught_up: bool, shut_down: bool) -> Any:
        return build(
            mod.BrokerHeartbeatResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            is_caught_up=caught_up,
            is_fenced=fenced,
            should_shut_down=shut_down,
        )

    if broker is None or broker.epoch != request.broker_epoch:
        return reply(ErrorCode.stale_broker_epoch, True, False, False)
    controller.heartbeat(broker_id)
    caught_up = request.current_metadata_offset >= broker.epoch
    if request.want_shut_down or request.want_fence:
        await controller.append(lambda: controller.fence_records(broker_id))
    elif broker.fenced and caught_up:
        await controller.append(lambda: controller.unfence_records(broker_id))
        log.info("Broker %d is unfenced", broker_id)
    fenced = controller.image.brokers[broker_id].fenced
    return reply(ErrorCode.none, fenced, caught_up, bool(request.want_shut_down))


async def alter_partition(controller: Controller, request: Any) -> Any:
    """A leader's proposals of new ISRs, each checked against its leader and partition epochs
    on its own (a refused one fails only itself); every accepted change of the request goes
    into the metadata log in one append (one fsync), as KRaft's controller does."""
    mod = response_module(request)
    broker_id = int(request.broker_id)
    broker = controller.image.brokers.get(broker_id)
    if broker is None or request.broker_epoch not in (-1, broker.epoch):
        return build(
            mod.AlterPartitionResponse,
            throttle_time=NO_THROTTLE,
            error_code=ErrorCode.stale_broker_epoch,
            topics=(),
        )
    codes: list[list[ErrorCode]] = []
    changes: list[_IsrChange] = []
    for t in request.topics:
        codes.append([])
        for p in t.partitions:
            code, change = _check_one(controller, broker_id, t.topic_id, p)
            codes[-1].append(code)
            if change is not None:
                changes.append(change)
    if changes:
        await controller.append(partial(_isr_records, controller, changes))
        if any(change[2].reassigning for change in changes):
            # a new ISR may hold every target replica of a reassignment now
            await controller.append(partial(completion_records, controller))
    topics_out = []
    for t, topic_codes in zip(request.topics, codes, strict=True):
        topic = controller.image.by_id.get(t.topic_id)
        parts_out = []
        for p, code in zip(t.partitions, topic_codes, strict=True):
            part = topic.partitions.get(p.partition_index) if topic is not None else None
            parts_out.append(
                build(
                    mod.PartitionData,
                    partition_index=p.partition_index,
                    error_code=code,
                    leader_id=part.leader if part is not None else -1,
                    leader_epoch=part.leader_epoch if part is not None else -1,
                    isr=part.isr if part is not None else (),
                    leader_recovery_state=0,
                    partition_epoch=part.partition_epoch if part is not None else -1,
                )
            )
        topics_out.append(build(mod.TopicData, topic_id=t.topic_id, partitions=tuple(parts_out)))
    return build(
        mod.AlterPartitionResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        topics=tuple(topics_out),
    )


# (topic id, partition, the partition as checked, the new ISR)
_IsrChange = tuple[uuid.UUID, int, PartitionImage, tuple[int, ...]]


def _check_one(
    controller: Controller, broker_id: int, topic_id: uuid.UUID, p: Any
) -> tuple[ErrorCode, _IsrChange | None]:
    """The answer for one partition's proposal, and the change to make when it is accepted
    and differs from the ISR now."""
    topic = controller.image.by_id.get(topic_id)
    if topic is None:
        return ErrorCode.unknown_topic_id, None
    part = topic.partitions.get(p.partition_index)
    if part is None:
        return ErrorCode.unknown_topic_or_partition, None
    if part.leader != broker_id:
        return ErrorCode.not_leader_or_follower, None
    if p.leader_epoch != part.leader_epoch:
        return ErrorCode.fenced_leader_epoch, None
    if p.partition_epoch != part.partition_epoch:
        return ErrorCode.invalid_update_version, None
    new_isr = tuple(int(b) for b in p.new_isr)
    if broker_id not in new_isr:
        return ErrorCode.invalid_request, None
    if any(r not in part.replicas or not controller.image.is_live(r) for r in new_isr):
        return ErrorCode.ineligible_replica, None
    if new_isr == part.isr:
        return ErrorCode.none, None
    return ErrorCode.none, (topic_id, int(p.partition_index), part, new_isr)


def _isr_records(controller: Controller, changes: list[_IsrChange]) -> list[MetadataRecord]:
    """Under the write lock: the ISR changes whose partition is still as it was checked (a
    change in between, such as a fencing, wins over the proposal)."""
    out: list[MetadataRecord] = []
    for topic_id, index, checked, new_isr in changes:
        topic = controller.image.by_id.get(topic_id)
        if topic is not None and topic.partitions.get(index) == checked:
            out.append(PartitionChange(topic_id, index, isr=new_isr))
    return out


async def fetch_metadata(controller: Controller, request: Any) -> Any:
    """Fetch of __cluster_metadata partition 0: its records from the fetch offset, waiting up
    to max_wait for new ones when there are none."""
    mod = response_module(request)
    wanted = next(
        (p for t in request.topics if t.topic == METADATA_TOPIC for p in t.partitions), None
    )
    responses = []
    if wanted is not None:
        start = int(wanted.fetch_offset)
        controller.followers.fetched(int(request.replica_id), start, controller.log.end_offset)
        if start == controller.log.end_offset:
            wait = min(ms(request.max_wait) / 1000, MAX_FETCH_WAIT_S)
            await controller.wait_for_append(start, wait)  # until record `start` exists
        end = controller.log.end_offset
        code = ErrorCode.none
        records = None
        if start > end or start < 0:
            code = ErrorCode.offset_out_of_range
        elif start < end:
            values = controller.log.records[start : min(end, start + MAX_RECORDS_PER_FETCH)]
            records = encode_batch(start, values)
        part = build(
            mod.PartitionData,
            partition_index=0,
            error_code=code,
            high_watermark=end,
            last_stable_offset=end,
            log_start_offset=0,
            aborted_transactions=None,
            preferred_read_replica=-1,
            records=records,
        )
        responses.append(
            build(mod.FetchableTopicResponse, topic=METADATA_TOPIC, partitions=(part,))
        )
    return build(
        mod.FetchResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        session_id=0,
        responses=tuple(responses),
    )
