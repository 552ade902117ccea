"""A cluster broker's producer ids: blocks from the controller (AllocateProducerIds), the next
one asked for before the current one runs out, as Kafka's RPCProducerIdManager does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from kio.schema.allocate_producer_ids.v0 import request as alloc_req
from kio.schema.errors import ErrorCode
from kio.schema.types import BrokerId
from kio.static.primitive import i64

from embedded_broker.producer_state import ProducerIdsUnavailableError

from .channel import ControllerUnavailableError

log = logging.getLogger(__name__)

PREFETCH_FRACTION = 0.9  # ask for the next block once this much of the current one is used


class ProducerIdBlocks:
    """Hands out ids from the current block; ``next_id`` waits for a block when none is left."""

    def __init__(
        self,
        node_id: int,
        broker_epoch: Callable[[], int],
        call: Callable[[Any], Awaitable[Any]],
        spawn: Callable[[Coroutine[Any, Any, None], str], object],
    ) -> None:
        self._node_id = node_id
        self._broker_epoch = broker_epoch
        self._call = call
        self._spawn = spawn
        self._next = 0
        self._end = 0  # the current block is [_next, _end)
        self._prefetch_at = 0
        self._queued: tuple[int, int] | None = None  # the next block, fetched ahead
        self._fetching: asyncio.Future[None] | None = None
        self._ahead = False  # a fetch-ahead task is spawned and has not finished

    async def next_id(self) -> int:
        """A producer id no other broker of the cluster has or will hand out
        (ProducerIdsUnavailableError when the controller gives none now)."""
        while self._next >= self._end:
            if self._queued is not None:
                self._next, self._end = self._queued
                self._queued = None
                used = int((self._end - self._next) * PREFETCH_FRACTION)
                self._prefetch_at = self._next + used
            else:
                await self._fetch()
        pid = self._next
        self._next += 1
        if self._next >= self._prefetch_at:
            self._fetch_ahead()
        return pid

    def fetch_ahead(self) -> None:
        """Ask for a block now if there is none, so the broker can hand out ids even if the
        controller is down later."""
        if self._next >= self._end:
            self._fetch_ahead()

    def _fetch_ahead(self) -> None:
        if self._queued is None and self._fetching is None and not self._ahead:
            self._ahead = True
            self._spawn(self._prefetch(), "producer-id-prefetch")

    async def _prefetch(self) -> None:
        try:
            if self._queued is None:
                await self._fetch()
        except ProducerIdsUnavailableError as exc:
            log.info("Could not fetch the next block of producer ids ahead: %s", exc)
        finally:
            self._ahead = False

    async def _fetch(self) -> None:
        # one request at a time: producers that arrive while it runs share its outcome
        if self._fetching is not None:
            await asyncio.shield(self._fetching)
            return
        loop = asyncio.get_running_loop()
        self._fetching = done = loop.create_future()
        done.add_done_callback(_retrieve)
        try:
            self._queued = await self._request()
        except ProducerIdsUnavailableError as exc:
            done.set_exception(exc)
            raise
        except BaseException:
            done.set_exception(ProducerIdsUnavailableError("the request was cancelled"))
            raise
        else:
            done.set_result(None)
        finally:
            self._fetching = None

    async def _request(self) -> tuple[int, int]:
        epoch = self._broker_epoch()
        if epoch < 0:
            raise ProducerIdsUnavailableError("this broker is not registered with the controller")
        request = alloc_req.AllocateProducerIdsRequest(
            broker_id=BrokerId(self._node_id), broker_epoch=i64(epoch)
        )
        try:
            response = await self._call(request)
        except ControllerUnavailableError as exc:
            raise ProducerIdsUnavailableError(str(exc)) from exc
        if response.error_code != ErrorCode.none or response.producer_id_len <= 0:
            raise ProducerIdsUnavailableError(
                f"the controller refused producer ids: {response.error_code.name}"
            )
        start = int(response.producer_id_start)
        end = start + int(response.producer_id_len)
        log.info("Producer ids %d to %d from the controller", start, end - 1)
        return start, end


def _retrieve(future: asyncio.Future[None]) -> None:
    # a failure nobody else waited for is not an "exception never retrieved"
    if not future.cancelled():
        future.exception()
