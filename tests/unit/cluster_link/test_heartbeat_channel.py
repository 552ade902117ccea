"""A broker's heartbeats reach the controller while its AlterPartition requests wait: a queue
of ISR changes (after a restart, every partition's followers rejoin) must not hold a heartbeat
past broker.session.timeout.ms, or the controller fences the broker and shrinks every ISR it
is in again, a cascade that kept ISRs short for minutes on a loaded machine."""

from __future__ import annotations

import asyncio
import datetime
import struct
import uuid
from typing import Any

from kio.schema.broker_heartbeat.v1 import response as heartbeat_res
from kio.schema.errors import ErrorCode

from embedded_broker.config import BrokerConfig
from embedded_broker.metadata.records import RegisterBroker, TopicRecord
from embedded_broker.protocol.codec import decode_request, encode_response
from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.state import BrokerState

from .link_setup import linked

TID = uuid.UUID(int=7)
ALTER_PARTITION = 56
BROKER_HEARTBEAT = 63


class SlowController:
    """Answers heartbeats at once and never answers AlterPartition (a controller busy with
    a long queue of them)."""

    def __init__(self) -> None:
        self.heartbeats = 0
        self.alter_requests = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = struct.unpack(">i", await reader.readexactly(4))
                header, _ = decode_request(await reader.readexactly(size))
                if header.api_key == ALTER_PARTITION:
                    self.alter_requests += 1
                    continue  # held: no answer on this connection
                assert header.api_key == BROKER_HEARTBEAT, header
                self.heartbeats += 1
                writer.write(encode_response(header.correlation_id, _heartbeat_answer()))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def _heartbeat_answer() -> Any:
    return heartbeat_res.BrokerHeartbeatResponse(
        throttle_time=datetime.timedelta(0),
        error_code=ErrorCode.none,
        is_caught_up=True,
        is_fenced=False,
        should_shut_down=False,
    )


def test_a_heartbeat_does_not_wait_behind_an_unanswered_alter_partition() -> None:
    async def body() -> None:
        controller = SlowController()
        port = await controller.start()
        state = BrokerState(BrokerConfig({"node.id": "101"}), None, in_memory=True)
        records = [RegisterBroker(101, "127.0.0.1", 9092, None, "i1"), TopicRecord("t", TID)]
        link = linked(state, port, records, epoch=0)
        proposed = PartitionState(
            leader=101, leader_epoch=0, replicas=(101, 102), isr=(101, 102), partition_epoch=0
        )
        isr_change = asyncio.ensure_future(link.send_isr("t", 0, proposed))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while controller.alter_requests == 0 and loop.time() < deadline:
                await asyncio.sleep(0.01)
            assert controller.alter_requests == 1  # in flight, unanswered
            started = loop.time()
            # well inside the 2 s session timeout the cluster tests use (the AlterPartition
            # waits for its own 5 s request timeout)
            response = await asyncio.wait_for(link._heartbeat(), 1.5)
            assert response.error_code == ErrorCode.none
            assert loop.time() - started < 1.5
            assert not isr_change.done()
        finally:
            isr_change.cancel()
            await asyncio.gather(isr_change, return_exceptions=True)
            await controller.stop()
            await state.shutdown()

    asyncio.run(body())
