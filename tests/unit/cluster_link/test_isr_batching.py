"""A broker's concurrent ISR proposals reach the controller as few AlterPartition requests,
each one metadata append (one fsync): after a restart about 150 followers rejoin at once, and
one request and fsync per partition kept ISRs short for many seconds on a loaded machine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedded_broker.config import BrokerConfig
from embedded_broker.controller.server import ControllerServer
from embedded_broker.metadata.records import (
    MetadataRecord,
    PartitionRecord,
    RegisterBroker,
    TopicRecord,
    UnfenceBroker,
)
from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.state import BrokerState

from ..controller.controller_setup import TID
from .link_setup import linked

PARTITIONS = 40
ALTER_PARTITION = 56


def _setup() -> list[MetadataRecord]:
    out: list[MetadataRecord] = []
    for i, b in enumerate((101, 102, 103)):
        out += [RegisterBroker(b, "127.0.0.1", 9092 + i, None, f"i{b}"), UnfenceBroker(b, 2 * i)]
    out.append(TopicRecord("t", TID))
    out += [PartitionRecord(TID, p, (101, 102, 103), (101,), 101, 0, 0) for p in range(PARTITIONS)]
    return out


class Counted:
    """A controller on a real socket that counts AlterPartition requests and appends; the
    first AlterPartition is held until ``release`` is set (a request in flight)."""

    def __init__(self, data_dir: Path) -> None:
        self.server = ControllerServer(None, data_dir, "c", BrokerConfig())
        self.requests: list[int] = []  # partitions per AlterPartition request
        self.appends = 0
        self.first_arrived = asyncio.Event()
        self.release = asyncio.Event()
        dispatch = self.server.dispatch
        controller = self.server.controller
        append = controller.append

        async def counting_dispatch(api_key: int, request: Any) -> Any:
            if api_key == ALTER_PARTITION:
                self.requests.append(sum(len(t.partitions) for t in request.topics))
                self.first_arrived.set()
                await self.release.wait()
            return await dispatch(api_key, request)

        async def counting_append(build: Callable[[], list[MetadataRecord]]) -> int:
            def counting() -> list[MetadataRecord]:
                records = build()
                self.appends += bool(records)
                return records

            return await append(counting)

        self.server.dispatch = counting_dispatch  # type: ignore[method-assign]
        controller.append = counting_append  # type: ignore[method-assign]


def _proposal(isr: tuple[int, ...], partition_epoch: int = 0) -> PartitionState:
    return PartitionState(
        leader=101,
        leader_epoch=0,
        replicas=(101, 102, 103),
        isr=isr,
        partition_epoch=partition_epoch,
    )


def test_concurrent_isr_proposals_become_few_requests_of_one_append_each(tmp_path: Path) -> None:
    async def body() -> None:
        controller = Counted(tmp_path)
        records = _setup()
        await controller.server.controller.append(lambda: records)
        controller.appends = 0
        port = await controller.server.start("127.0.0.1", 0)
        epoch = controller.server.controller.image.brokers[101].epoch
        state = BrokerState(BrokerConfig({"node.id": "101"}), None, in_memory=True)
        link = linked(state, port, records, epoch)
        try:
            # partition 0 goes first and is held in flight at the controller ...
            first = asyncio.ensure_future(link.send_isr("t", 0, _proposal((101, 102))))
            await asyncio.wait_for(controller.first_arrived.wait(), 10)
            # ... while every other partition proposes (one with a stale partition epoch,
            # one twice: the newer proposal wins)
            rest = [
                asyncio.ensure_future(link.send_isr("t", p, _proposal((101, 102, 103))))
                for p in range(1, PARTITIONS)
            ]
            stale = asyncio.ensure_future(link.send_isr("t", 1, _proposal((101, 102), 5)))
            controller.release.set()
            answers = await asyncio.wait_for(asyncio.gather(first, *rest, stale), 20)
        finally:
            await controller.server.stop()
            await state.shutdown()

        assert controller.requests == [1, PARTITIONS - 1]
        assert controller.appends == len(controller.requests)
        first_answer, superseded, *others, refused = answers
        assert first_answer is not None and first_answer.isr == (101, 102)
        assert superseded is None  # replaced in the queue by the newer proposal
        assert refused is None  # the stale partition epoch: refused, alone
        for p, answer in enumerate(others, start=2):
            assert answer is not None, p
            assert answer.isr == (101, 102, 103)
            assert answer.partition_epoch == 1
        image = controller.server.controller.image.topics["t"]
        assert image.partitions[1].isr == (101,)
        assert all(image.partitions[p].isr == (101, 102, 103) for p in range(2, PARTITIONS))

    asyncio.run(body())
