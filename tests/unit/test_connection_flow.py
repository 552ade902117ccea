"""The sans-IO connection flow: request memory, pause/resume, outbox, response budget, idleness."""

from __future__ import annotations

import struct

from embedded_broker.flow import (
    FETCH_FLOOR,
    MAX_QUEUED_BYTES,
    ConnectionFlow,
    MemoryPool,
    Outbox,
    OutgoingBudget,
)


def _frame(size: int, fill: bytes = b"\x00") -> bytes:
    return struct.pack(">i", size) + fill * size


def test_a_request_is_charged_at_its_declared_size_once_its_prefix_arrives() -> None:
    pool = MemoryPool(1000)
    flow = ConnectionFlow(pool, 10_000, now=0.0)
    flow.receive_data(b"\x00\x00", now=0.0)
    assert pool.used == 2  # no size yet: only what is buffered
    flow.receive_data(struct.pack(">i", 600)[2:] + b"x" * 10, now=0.0)
    assert pool.used == 604
    assert flow.reading_allowed
    assert flow.receive_data(b"x" * 590, now=0.0)
    assert pool.used == 600  # the complete request, without its prefix
    assert flow.next_request() == b"x" * 600
    assert pool.used == 0


def test_requests_that_do_not_fit_wait_instead_of_failing() -> None:
    pool = MemoryPool(1000)
    a, b, c = (ConnectionFlow(pool, 10_000, now=0.0) for _ in range(3))
    partial = _frame(900)[:500]
    a.receive_data(partial, now=0.0)  # admitted: the pool was empty
    b.receive_data(partial, now=0.0)  # admitted: room was left (non-strict, as Kafka's pool)
    c.receive_data(partial, now=0.0)  # the pool is used up: c waits
    assert a.reading_allowed and b.reading_allowed
    assert not c.reading_allowed and c.waiting_for_memory
    assert pool.used == 904 * 2 + 500
    a.receive_data(_frame(900)[500:], now=0.0)
    b.receive_data(_frame(900)[500:], now=0.0)
    assert a.next_request() is not None and b.next_request() is not None
    c.retry_memory()
    assert c.reading_allowed  # memory came back: c is read again and was never closed
    c.receive_data(_frame(900)[500:], now=0.0)
    assert c.next_request() == b"\x00" * 900
    assert pool.used == 0


def test_a_connection_stops_reading_at_a_request_boundary_while_the_pool_is_used_up() -> None:
    pool = MemoryPool(100)
    holder = ConnectionFlow(pool, 10_000, now=0.0)
    other = ConnectionFlow(pool, 10_000, now=0.0)
    holder.receive_data(_frame(200), now=0.0)
    assert pool.exhausted and not holder.reading_allowed
    assert not other.reading_allowed  # no memory for its next request either
    holder.next_request()
    assert other.reading_allowed and holder.reading_allowed


def test_many_queued_requests_pause_reading_until_half_are_handled() -> None:
    flow = ConnectionFlow(MemoryPool(-1), 10_000_000, now=0.0)
    count = MAX_QUEUED_BYTES // 1_000_000 + 1
    flow.receive_data(_frame(1_000_000) * count, now=0.0)
    assert not flow.reading_allowed
    while flow.queued_bytes > MAX_QUEUED_BYTES // 2:
        assert not flow.reading_allowed
        flow.next_request()
    assert flow.reading_allowed


def test_a_muted_connection_does_not_read() -> None:
    flow = ConnectionFlow(MemoryPool(-1), 1000, now=0.0)
    flow.muted = True
    assert not flow.reading_allowed
    flow.muted = False
    assert flow.reading_allowed


def test_close_returns_all_memory() -> None:
    pool = MemoryPool(10_000)
    flow = ConnectionFlow(pool, 10_000, now=0.0)
    flow.receive_data(_frame(100) + _frame(5000)[:10], now=0.0)
    assert pool.used == 100 + 5004
    flow.close()
    assert pool.used == 0
    assert not flow.receive_data(_frame(1), now=0.0)


def test_idle_time_counts_only_without_requests_in_flight() -> None:
    flow = ConnectionFlow(MemoryPool(-1), 1000, now=10.0)
    assert flow.idle_for(15.0, busy=False, unsent=0) == 5.0
    flow.receive_data(_frame(4), now=20.0)
    assert flow.idle_for(99.0, busy=False, unsent=0) == 0.0  # a request waits
    flow.next_request()
    assert flow.idle_for(99.0, busy=True, unsent=0) == 0.0  # being handled
    flow.touch(30.0)  # its response went out
    assert flow.idle_for(99.0, busy=False, unsent=10) == 0.0  # not yet taken by the socket
    assert flow.idle_for(31.5, busy=False, unsent=0) == 1.5


def test_the_response_budget_grants_what_is_left_but_never_less_than_the_floor() -> None:
    budget = OutgoingBudget(10 * FETCH_FLOOR)
    assert budget.reserve(8 * FETCH_FLOOR) == 8 * FETCH_FLOOR
    assert budget.reserve(8 * FETCH_FLOOR) == 2 * FETCH_FLOOR
    assert budget.reserve(8 * FETCH_FLOOR) == FETCH_FLOOR
    assert budget.reserve(100) == 100
    budget.release(8 * FETCH_FLOOR)
    assert budget.reserve(8 * FETCH_FLOOR) == 8 * FETCH_FLOOR - FETCH_FLOOR - 100
    unbounded = OutgoingBudget(-1)
    assert unbounded.reserve(1 << 40) == 1 << 40


def test_outbox_keeps_large_responses_uncopied_and_counts_them_in_the_budget() -> None:
    budget = OutgoingBudget(-1)
    box = Outbox(budget)
    big = b"r" * 600_000
    box.push([b"head", big, b"tail"])
    assert box.size == budget.queued == 600_008
    first = box.take(1000)
    assert bytes(first) == b"head"  # small pieces alone fit: joined, not mixed with a big one
    piece = box.take(256 * 1024)
    assert isinstance(piece, memoryview) and piece.obj is big
    rest = b""
    while box.size:
        rest += bytes(box.take(256 * 1024))
    assert rest == big[256 * 1024 :] + b"tail"
    assert budget.queued == 0
    box.push([b"a", b"b", b"c"])
    assert box.take() == b"abc"  # coalesced responses leave in one write
    box.push([b"x" * 10])
    box.clear()
    assert box.size == budget.queued == 0
