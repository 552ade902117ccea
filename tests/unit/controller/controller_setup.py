"""A controller with brokers 101-103 and topic t, driven without sockets."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from embedded_broker.controller.quorum import Controller
from embedded_broker.metadata.records import (
    MetadataRecord,
    PartitionRecord,
    RegisterBroker,
    TopicRecord,
    UnfenceBroker,
)

TID = uuid.UUID(int=1)


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def make_cluster(tmp_path: Path | None, clock: Clock, unclean: bool = False) -> Controller:
    controller = Controller(
        tmp_path, session_timeout_ms=2000, unclean_election=lambda _: unclean, clock=clock
    )

    def setup() -> list[MetadataRecord]:
        out: list[MetadataRecord] = []
        for i, b in enumerate((101, 102, 103)):
            out += [RegisterBroker(b, "h", 9092 + i, None, f"i{b}"), UnfenceBroker(b, 2 * i)]
        out.append(TopicRecord("t", TID))
        out.append(PartitionRecord(TID, 0, (101, 102, 103), (101, 102, 103), 101, 0, 0))
        out.append(PartitionRecord(TID, 1, (101, 102), (101,), 101, 0, 0))
        return out

    asyncio.run(controller.append(setup))
    for b in (101, 102, 103):
        controller.heartbeat(b)
    return controller


def silence(controller: Controller, clock: Clock, alive: set[int]) -> None:
    clock.now += 2001
    for b in alive:
        controller.heartbeat(b)
    asyncio.run(controller.check_sessions())
