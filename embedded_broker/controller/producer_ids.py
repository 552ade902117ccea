"""AllocateProducerIds: the controller hands each broker blocks of producer ids, recorded in
the metadata log so no id is given out twice, even across controller restarts."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.handlers.util import NO_THROTTLE, build, response_module
from embedded_broker.metadata.records import MetadataRecord, ProducerIdsRecord

from .quorum import Controller

BLOCK_SIZE = 1000  # Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE
_MAX_ID = 2**63 - 1


async def allocate_producer_ids(controller: Controller, request: Any) -> Any:
    mod = response_module(request)
    broker_id = int(request.broker_id)
    broker_epoch = int(request.broker_epoch)
    block: list[int] = []

    def records() -> list[MetadataRecord]:
        # under the controller's write lock: two brokers asking at once get different blocks
        broker = controller.image.brokers.get(broker_id)
        if broker is None or broker.epoch != broker_epoch:
            return []
        start = controller.image.next_producer_id
        if start > _MAX_ID - BLOCK_SIZE:
            return []
        block.append(start)
        return [ProducerIdsRecord(broker_id, broker_epoch, start + BLOCK_SIZE)]

    await controller.append(records)
    if block:
        code, start, length = ErrorCode.none, block[0], BLOCK_SIZE
    elif broker_id not in controller.image.brokers or (
        controller.image.brokers[broker_id].epoch != broker_epoch
    ):
        code, start, length = ErrorCode.stale_broker_epoch, -1, 0
    else:
        code, start, length = ErrorCode.unknown_server_error, -1, 0  # the ids ran out
    return build(
        mod.AllocateProducerIdsResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        producer_id_start=start,
        producer_id_len=length,
    )
