"""A cluster broker's producer ids: blocks from the controller, one request for many waiting
producers, the next block fetched ahead, and COORDINATOR_LOAD_IN_PROGRESS without a controller."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Coroutine
from types import SimpleNamespace
from typing import Any

import pytest
from kio.schema.errors import ErrorCode
from kio.schema.init_producer_id.v4 import request as init_req
from kio.static.primitive import i16, i32Timedelta, i64

from embedded_broker.cluster_link.channel import ControllerUnavailableError
from embedded_broker.cluster_link.producer_ids import ProducerIdBlocks
from embedded_broker.handlers.producer_ids import handle_init_producer_id
from embedded_broker.producer_state import ProducerIdsUnavailableError, ProducerStateManager


class FakeController:
    """Answers AllocateProducerIds with blocks of 10 while ``up``."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0
        self.next = 5000
        self.gate: asyncio.Event | None = None

    async def call(self, request: Any) -> Any:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if not self.up:
            raise ControllerUnavailableError("down")
        start, self.next = self.next, self.next + 10
        return SimpleNamespace(
            error_code=ErrorCode.none, producer_id_start=start, producer_id_len=10
        )


def _blocks(controller: FakeController, tasks: list[asyncio.Task[Any]]) -> ProducerIdBlocks:
    def spawn(coro: Coroutine[Any, Any, None], name: str) -> object:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        tasks.append(task)
        return task

    return ProducerIdBlocks(101, lambda: 7, controller.call, spawn)


def test_waiting_producers_share_one_request_and_the_next_block_comes_early() -> None:
    async def scenario() -> None:
        controller = FakeController()
        controller.gate = asyncio.Event()
        tasks: list[asyncio.Task[Any]] = []
        blocks = _blocks(controller, tasks)
        waiting = [asyncio.create_task(blocks.next_id()) for _ in range(3)]
        await asyncio.sleep(0)
        controller.gate.set()
        assert sorted(await asyncio.gather(*waiting)) == [5000, 5001, 5002]
        assert controller.calls == 1
        ids = [await blocks.next_id() for _ in range(7)]  # the block's last ids
        await asyncio.gather(*tasks)
        assert controller.calls == 2, "the next block is asked for before this one runs out"
        controller.up = False
        assert [*ids, await blocks.next_id()] == list(range(5003, 5011))

    asyncio.run(scenario())


def test_no_controller_means_retry_never_a_made_up_id() -> None:
    async def scenario() -> None:
        controller = FakeController()
        controller.up = False
        tasks: list[asyncio.Task[Any]] = []
        blocks = _blocks(controller, tasks)
        with pytest.raises(ProducerIdsUnavailableError):
            await blocks.next_id()
        producers = ProducerStateManager(lambda: 1000)  # the registry must not be used
        producers.id_source = blocks.next_id
        request = init_req.InitProducerIdRequest(
            transactional_id=None,
            transaction_timeout=i32Timedelta.parse(datetime.timedelta(seconds=60)),
            producer_id=i64(-1),
            producer_epoch=i16(-1),
        )
        state: Any = SimpleNamespace(producers=producers)
        response = await handle_init_producer_id(None, request, state)  # type: ignore[arg-type]
        assert response.error_code == ErrorCode.coordinator_load_in_progress
        assert response.producer_id == -1
        controller.up = True
        response = await handle_init_producer_id(None, request, state)  # type: ignore[arg-type]
        assert (response.error_code, response.producer_id) == (ErrorCode.none, 5000)

    asyncio.run(scenario())
