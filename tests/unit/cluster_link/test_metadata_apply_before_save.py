"""A broker applies the metadata it fetches before flushing its local copy, as a KRaft broker
(an observer of the metadata log, which appends but does not flush before applying) does: a
fencing moves leadership to this broker without waiting for an fsync. The records are in the
local copy's file before they are applied, so a broker killed -9 never restarts knowing less
than it acted on (CI once saw a restarted broker answer UNKNOWN_TOPIC_OR_PARTITION for a topic
it had led: its records had been applied but not yet written). The flush still comes."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from embedded_broker.cluster_link.link import BrokerLink
from embedded_broker.config import BrokerConfig
from embedded_broker.controller.server import ControllerServer
from embedded_broker.metadata.log import MetadataLog
from embedded_broker.metadata.records import (
    MetadataRecord,
    PartitionRecord,
    RegisterBroker,
    TopicRecord,
    UnfenceBroker,
)
from embedded_broker.state import BrokerState

TID = uuid.UUID(int=12)
DEADLINE_S = 15.0


async def _until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not condition():
        assert loop.time() < deadline, f"no {what} within {DEADLINE_S:.0f} s"
        await asyncio.sleep(0.01)


def test_a_fencing_is_applied_written_but_not_yet_flushed(tmp_path: Path) -> None:
    async def body() -> None:
        server = ControllerServer(None, None, "c", BrokerConfig())
        port = await server.start("127.0.0.1", 0)
        controller = server.controller
        state = BrokerState(BrokerConfig({"node.id": "101"}), None, in_memory=True)
        link = BrokerLink(
            state,
            host="127.0.0.1",
            port=9092,
            rack=None,
            cluster_id="c",
            controller=("127.0.0.1", port),
            heartbeat_ms=100,
            metadata_dir=tmp_path,
        )
        release = threading.Event()
        blocked = threading.Event()
        try:
            link.start()
            await _until(lambda: not link.fenced, "unfenced broker 101")

            def setup() -> list[MetadataRecord]:
                epoch = controller.log.end_offset
                return [
                    RegisterBroker(102, "127.0.0.1", 9093, None, "i102"),
                    UnfenceBroker(102, epoch),
                    TopicRecord("t", TID),
                    PartitionRecord(TID, 0, (102, 101), (102, 101), 102, 0, 0),
                ]

            await controller.append(setup)
            await _until(lambda: "t" in link.image.topics, "topic t in the broker's image")
            await _until(lambda: link.local_log.end_offset == link.image.offset + 1, "saved copy")

            real_sync = link.local_log.sync
            synced = threading.Event()

            def slow_sync() -> None:
                blocked.set()  # a disk that takes its time (an fsync on a loaded machine)
                release.wait(DEADLINE_S * 2)
                real_sync()
                synced.set()

            link.local_log.sync = slow_sync  # type: ignore[method-assign]
            await controller.append(lambda: controller.fence_records(102))
            # broker 102 silent past its session: the partition's leadership moves here
            await _until(
                lambda: link.image.topics["t"].partitions[0].leader == 101,
                "leadership of t-0 in broker 101's image while its local flush is blocked",
            )
            await _until(blocked.is_set, "a flush of the local copy")
            # already in the file (what a restart after kill -9 reads), flushed or not
            assert MetadataLog(tmp_path).end_offset == link.image.offset + 1
            release.set()
            await _until(synced.is_set, "the local copy flushed")
        finally:
            release.set()
            await state.shutdown()
            await server.stop()
        # what was saved is the controller's log from its start, in order
        saved = [r for _, r in MetadataLog(tmp_path).read(0)]
        assert len(saved) >= 6
        assert saved == [r for _, r in controller.log.read(0)][: len(saved)]

    asyncio.run(body())
