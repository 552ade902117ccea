"""InitProducerId for idempotent (non-transactional) producers."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.producer_state import ProducerIdsUnavailableError
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module


async def handle_init_producer_id(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    if request.transactional_id is not None:
        # Transactions are not implemented; say so the way Kafka does for a disabled feature.
        return build(
            mod.InitProducerIdResponse,
            throttle_time=NO_THROTTLE,
            error_code=ErrorCode.transactional_id_authorization_failed,
            producer_id=-1,
            producer_epoch=-1,
        )
    try:
        code, pid, epoch = await state.producers.init_producer(
            getattr(request, "producer_id", -1), getattr(request, "producer_epoch", -1)
        )
    except ProducerIdsUnavailableError:
        # a cluster broker that cannot get ids from its controller: the client retries, as
        # with Kafka's RPCProducerIdManager
        code, pid, epoch = ErrorCode.coordinator_load_in_progress, -1, -1
    return build(
        mod.InitProducerIdResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        producer_id=pid,
        producer_epoch=epoch,
    )


APIS = (ApiSpec(22, 0, 4, handle_init_producer_id),)
