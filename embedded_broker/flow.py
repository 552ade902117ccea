"""Connection flow control without I/O: request and response memory budgets, mute, idle expiry.

The asyncio Protocol in server.py only moves bytes; what to read, when to stop reading, what to
write next and when a connection has been idle too long is decided here, so it can be tested
without sockets. The model is Kafka's SocketServer: a memory pool for requests (a channel that
cannot get memory for its next request is muted, not closed) and one response at a time per
channel (a channel is muted until its response has gone out).
"""

from __future__ import annotations

import collections

from .protocol.framing import FrameDecoder

# A connection stops reading once this many of its complete requests wait to be handled, and
# reads again below half of it.
MAX_QUEUED_BYTES = 8 * 1024 * 1024
# A connection takes no new request while more response bytes than this wait to be sent.
OUTGOING_WATERMARK = 256 * 1024
# Response bytes handed to the transport at a time; the rest stays in the outbox uncopied.
WRITE_CHUNK = 256 * 1024
# A fetch may always read this much even when the response budget is used up, so clients that
# do read their sockets keep being served while stalled ones hold the budget.
FETCH_FLOOR = 1024 * 1024


class MemoryPool:
    """Bytes granted against a capacity (0 or less: unbounded, as Kafka's queued.max.request.bytes).

    Like Kafka's non-strict SimpleMemoryPool a grant succeeds while any room is left, so a
    large request is never starved by a stream of small ones.
    """

    __slots__ = ("capacity", "used")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity if capacity > 0 else -1
        self.used = 0

    @property
    def exhausted(self) -> bool:
        return 0 <= self.capacity <= self.used

    def room(self) -> int:
        """Bytes left before the capacity (a large number when unbounded)."""
        return 1 << 62 if self.capacity < 0 else self.capacity - self.used


class OutgoingBudget:
    """Response bytes held by the broker across connections: read for a response being built
    (in flight) plus queued in connections' outboxes and not yet taken by the transport."""

    __slots__ = ("capacity", "floor", "in_flight", "queued")

    def __init__(self, capacity: int, floor: int = FETCH_FLOOR) -> None:
        self.capacity = capacity
        self.floor = floor
        self.in_flight = 0
        self.queued = 0

    def reserve(self, want: int) -> int:
        """Reserve up to ``want`` bytes for a response being read; returns the grant.

        The grant is what is left of the budget, but never less than the floor: a client that
        reads its socket gets a smaller response rather than none while others hold the budget.
        """
        want = max(want, 0)
        if self.capacity < 0:
            grant = want
        else:
            left = self.capacity - self.in_flight - self.queued
            grant = max(min(want, left), min(want, self.floor))
        self.in_flight += grant
        return grant

    def release(self, grant: int) -> None:
        self.in_flight -= grant


class Outbox:
    """A connection's response bytes not yet handed to the transport, kept as the objects the
    handlers built (no copy) and taken in chunks as the socket drains."""

    __slots__ = ("_budget", "_items", "size")

    def __init__(self, budget: OutgoingBudget) -> None:
        self._budget = budget
        self._items: collections.deque[memoryview] = collections.deque()
        self.size = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            if chunk:
                self._items.append(memoryview(chunk))
                self.size += len(chunk)
                self._budget.queued += len(chunk)

    def take(self, limit: int = WRITE_CHUNK) -> bytes | memoryview:
        """Up to ``limit`` bytes (at least one byte when not empty), joined when from several
        small chunks so coalesced responses leave in one write."""
        items = self._items
        first = items[0]
        if len(first) >= limit or len(items) == 1:
            out: bytes | memoryview = first[:limit]
            if len(first) > limit:
                items[0] = first[limit:]
            else:
                items.popleft()
        else:
            pieces: list[memoryview] = []
            total = 0
            while items and total + len(items[0]) <= limit:
                piece = items.popleft()
                pieces.append(piece)
                total += len(piece)
            out = b"".join(pieces)
        self.size -= len(out)
        self._budget.queued -= len(out)
        return out

    def clear(self) -> None:
        self._budget.queued -= self.size
        self._items.clear()
        self.size = 0


class ConnectionFlow:
    """One connection's request side: framing, the queue of requests waiting to be handled,
    their memory in the server-wide pool, whether reading should pause, and idleness.

    A request is charged to the pool at its declared size once its size prefix has arrived and
    the pool has room (as Kafka allocates a request's buffer); a connection whose next request
    finds the pool used up stops reading until memory is returned, and is never closed for it.
    """

    def __init__(self, pool: MemoryPool, max_frame_bytes: int, now: float) -> None:
        self._pool = pool
        self._decoder = FrameDecoder(max_frame_bytes)
        self._queue: collections.deque[bytes] = collections.deque()
        self.queued_bytes = 0
        self._charged = 0  # bytes of this connection counted in the pool
        self._admitted = False  # the partial request in the decoder has its memory
        self._over_queue = False  # hysteresis of MAX_QUEUED_BYTES
        self.muted = False  # responses wait to be sent: take no new request
        self.closed = False
        self.last_active = now

    # -- requests ---------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> bool:
        """Take received bytes; returns whether complete requests are now waiting.
        Raises ProtocolError for a frame that cannot be a request."""
        if self.closed:
            return False
        self.last_active = now
        self._decoder.feed(data)
        got = False
        while (frame := self._decoder.next_frame()) is not None:
            self._queue.append(frame)
            self.queued_bytes += len(frame)
            self._admitted = False  # the partial request (if any) is now complete
            got = True
        if self.queued_bytes > MAX_QUEUED_BYTES:
            self._over_queue = True
        self._recharge()
        return got

    def next_request(self) -> bytes | None:
        """The oldest request not yet handled, in arrival order; its memory is returned."""
        if not self._queue:
            return None
        frame = self._queue.popleft()
        self.queued_bytes -= len(frame)
        if self._over_queue and self.queued_bytes <= MAX_QUEUED_BYTES // 2:
            self._over_queue = False
        self._recharge()
        return frame

    @property
    def has_requests(self) -> bool:
        return bool(self._queue)

    def retry_memory(self) -> None:
        """The pool returned memory: a request waiting for it may be admitted now."""
        self._recharge()

    def _partial_size(self) -> int | None:
        """Declared size (with prefix) of the request being received, once its prefix is in."""
        return self._decoder.pending_size()

    def _recharge(self) -> None:
        buffered = 0 if self.closed else self._decoder.buffered
        partial = buffered
        if buffered and not self.closed:
            declared = self._partial_size()
            if declared is not None and not self._admitted:
                # The pool without this request's own bytes decides (non-strict, as Kafka's).
                held = self._pool.used - self._charged + self.queued_bytes
                if self._pool.capacity < 0 or held < self._pool.capacity:
                    self._admitted = True
            if self._admitted and declared is not None:
                partial = max(declared, buffered)
        else:
            self._admitted = False
        charge = 0 if self.closed else self.queued_bytes + partial
        self._pool.used += charge - self._charged
        self._charged = charge

    @property
    def waiting_for_memory(self) -> bool:
        """Reading is paused until the pool has room for this connection's next request."""
        if self.closed or self._admitted:
            return False
        if self._partial_size() is not None:
            return True  # a request whose memory was not granted
        return self._pool.exhausted  # (Kafka reads a size prefix only when it has memory)

    @property
    def reading_allowed(self) -> bool:
        return not (self.closed or self.muted or self._over_queue or self.waiting_for_memory)

    # -- idleness ---------------------------------------------------------------------------
    def touch(self, now: float) -> None:
        """A response went out: the connection is active."""
        self.last_active = now

    def idle_for(self, now: float, *, busy: bool, unsent: int) -> float:
        """Seconds without activity and with no request in flight (0 while one is)."""
        if busy or unsent or self._queue or self.waiting_for_memory or self._over_queue:
            return 0.0
        return max(now - self.last_active, 0.0)

    def close(self) -> None:
        """Return all memory; later bytes are ignored."""
        self.closed = True
        self._queue.clear()
        self.queued_bytes = 0
        self._recharge()
