"""AllocateProducerIds on the controller: distinct blocks, kept across a restart."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from kio.schema.allocate_producer_ids.v0 import request as alloc_req
from kio.schema.errors import ErrorCode
from kio.schema.types import BrokerId
from kio.static.primitive import i64

from embedded_broker.controller.producer_ids import BLOCK_SIZE, allocate_producer_ids
from embedded_broker.controller.quorum import Controller

from .controller_setup import Clock, make_cluster

EPOCHS = {101: 0, 102: 2, 103: 4}  # the offsets of their registrations in make_cluster


def _allocate(controller: Controller, broker: int, epoch: int) -> tuple[ErrorCode, int, int]:
    request = alloc_req.AllocateProducerIdsRequest(
        broker_id=BrokerId(broker), broker_epoch=i64(epoch)
    )
    response = asyncio.run(allocate_producer_ids(controller, request))
    return response.error_code, int(response.producer_id_start), int(response.producer_id_len)


def test_blocks_never_overlap_even_after_a_controller_restart(tmp_path: Path) -> None:
    controller = make_cluster(tmp_path, Clock())
    starts = []
    for broker in (101, 102, 103, 101):
        code, start, length = _allocate(controller, broker, EPOCHS[broker])
        assert (code, length) == (ErrorCode.none, BLOCK_SIZE)
        starts.append(start)
    reopened = Controller(tmp_path, session_timeout_ms=2000, unclean_election=lambda _: False)
    code, start, _ = _allocate(reopened, 102, EPOCHS[102])
    assert code == ErrorCode.none
    starts.append(start)
    assert starts == sorted(starts)
    assert all(b - a >= BLOCK_SIZE for a, b in itertools.pairwise(starts))


def test_a_stale_or_unknown_broker_gets_no_block(tmp_path: Path) -> None:
    controller = make_cluster(tmp_path, Clock())
    assert _allocate(controller, 101, 99)[0] == ErrorCode.stale_broker_epoch
    assert _allocate(controller, 104, 0)[0] == ErrorCode.stale_broker_epoch
    end = controller.log.end_offset
    assert _allocate(controller, 101, EPOCHS[101])[0] == ErrorCode.none
    assert controller.log.end_offset == end + 1  # only the granted block was recorded
