"""InitProducerId: idempotent producers here, transactional ones by the transaction coordinator."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.producer_state import ProducerIdsUnavailableError
from embedded_broker.state import BrokerState
from embedded_broker.txn.version import tv2_enabled

from .base import ApiSpec, RequestContext
from .transactions import init_transactional_producer
from .util import NO_THROTTLE, build, response_module


async def handle_init_producer_id(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    if request.transactional_id is not None:
        return await init_transactional_producer(ctx, request, state)
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


# v5 tells the broker its client handles transactions v2's errors: offered with them
APIS = (ApiSpec(22, 0, 5 if tv2_enabled() else 4, handle_init_producer_id),)
