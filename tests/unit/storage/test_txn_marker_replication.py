"""A transaction marker is answered only once the partition's in-sync replicas have it, as
Kafka appends markers with acks=all: a marker acknowledged from the leader alone is lost when
that leader dies, and the follower elected in its place keeps the transaction open for good
(the coordinator, told the marker was written, never sends it again)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kio.schema.errors import ErrorCode

from embedded_broker.config import BrokerConfig
from embedded_broker.protocol.control_batch import Marker, MarkerType
from embedded_broker.state import BrokerState
from embedded_broker.txn.partition import write_marker

MARKER = Marker(MarkerType.COMMIT, 61, 0, 3)


class Followers:
    """Stands in for the replica manager's acks=all wait; the test decides the answer."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int, int]] = []
        self.waiting = asyncio.Event()
        self.answer: asyncio.Future[ErrorCode] | None = None

    async def wait_replicated(
        self, topic: str, partition: int, required: int, timeout_ms: int
    ) -> ErrorCode:
        self.asked.append((topic, partition, required))
        self.answer = asyncio.get_running_loop().create_future()
        self.waiting.set()
        return await self.answer


@pytest.mark.parametrize("answer", [ErrorCode.none, ErrorCode.request_timed_out])
def test_the_marker_waits_for_the_in_sync_replicas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: ErrorCode
) -> None:
    async def body() -> tuple[ErrorCode, list[tuple[str, int, int]], bool]:
        state = BrokerState(BrokerConfig(), tmp_path / "data")
        followers = Followers()
        monkeypatch.setattr(state.replicas, "wait_replicated", followers.wait_replicated)
        try:
            state.create_topic("t", 1, {})
            writing = asyncio.ensure_future(write_marker(state, "t", 0, MARKER))
            # the marker is appended (the producer table loads on a worker thread first), then
            # either answered at once (the fault) or held until the followers have it
            waiting = asyncio.ensure_future(followers.waiting.wait())
            await asyncio.wait({writing, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            answered_early = writing.done()
            if followers.answer is not None:
                followers.answer.set_result(answer)
            waiting.cancel()
            code, _ = await asyncio.wait_for(writing, 30)
            return code, followers.asked, answered_early
        finally:
            await state.shutdown()

    code, asked, answered_early = asyncio.run(body())
    assert not answered_early
    assert asked == [("t", 0, 1)]  # the marker, at offset 0, copied
    assert code == answer  # a timeout goes back to the coordinator, which sends it again
