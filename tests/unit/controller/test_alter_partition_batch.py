"""AlterPartition with many partitions: every accepted ISR change of the request goes into the
metadata log in one append (one fsync), and a refused partition fails only itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from kio.schema.alter_partition.v2 import request as alter_req
from kio.schema.errors import ErrorCode
from kio.schema.types import BrokerId
from kio.static.primitive import i32, i64

from embedded_broker.controller.lifecycle import alter_partition
from embedded_broker.controller.quorum import Controller
from embedded_broker.metadata.records import MetadataRecord, PartitionRecord

from .controller_setup import TID, Clock, make_cluster

EXTRA = range(2, 12)  # partitions 2-11, led by 101 with an ISR of just 101


def _count_appends(controller: Controller) -> list[int]:
    """Wrap ``controller.append`` so each call that writes records is counted."""
    counted: list[int] = []
    original = controller.append

    async def append(build: Callable[[], list[MetadataRecord]]) -> int:
        def counting() -> list[MetadataRecord]:
            records = build()
            if records:
                counted.append(len(records))
            return records

        return await original(counting)

    controller.append = append  # type: ignore[method-assign]
    return counted


def _proposal(index: int, isr: tuple[int, ...], partition_epoch: int = 0) -> object:
    return alter_req.PartitionData(
        partition_index=i32(index),
        leader_epoch=i32(0),
        new_isr=tuple(BrokerId(b) for b in isr),
        partition_epoch=i32(partition_epoch),
    )


def test_every_accepted_isr_change_of_a_request_is_one_append(tmp_path: Path) -> None:
    controller = make_cluster(tmp_path, Clock())
    asyncio.run(
        controller.append(
            lambda: [PartitionRecord(TID, i, (101, 102, 103), (101,), 101, 0, 0) for i in EXTRA]
        )
    )
    appends = _count_appends(controller)
    epoch = controller.image.brokers[101].epoch
    request = alter_req.AlterPartitionRequest(
        broker_id=BrokerId(101),
        broker_epoch=i64(epoch),
        topics=(
            alter_req.TopicData(
                topic_id=TID,
                partitions=(
                    *(_proposal(i, (101, 102, 103)) for i in EXTRA),
                    _proposal(1, (101, 102), partition_epoch=7),  # a stale partition epoch
                    _proposal(0, (101, 102, 103)),  # the ISR it has already: nothing to write
                ),
            ),
        ),
    )
    response = asyncio.run(alter_partition(controller, request))

    answers = {int(p.partition_index): p for p in response.topics[0].partitions}
    assert answers[1].error_code == ErrorCode.invalid_update_version
    assert tuple(answers[1].isr) == (101,)
    assert answers[0].error_code == ErrorCode.none
    for i in EXTRA:
        assert answers[i].error_code == ErrorCode.none, i
        assert tuple(answers[i].isr) == (101, 102, 103)
        assert int(answers[i].partition_epoch) == 1
        assert controller.image.topics["t"].partitions[i].isr == (101, 102, 103)
    assert appends == [len(EXTRA)]  # one append (one fsync) holding every change

    # the log on disk replays to the same ISRs
    again = Controller(tmp_path, session_timeout_ms=2000, unclean_election=lambda _: False)
    assert all(again.image.topics["t"].partitions[i].isr == (101, 102, 103) for i in EXTRA)
    assert again.image.topics["t"].partitions[1].isr == (101,)
