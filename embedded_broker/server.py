"""asyncio Kafka server: one ordered request pipeline per connection, graceful shutdown."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
from typing import Any

from .flusher import LogFlusher
from .handler_failures import HandlerFailureLog
from .handlers import API_TABLE, RequestContext
from .handlers.api_versions import API_KEY as API_VERSIONS_KEY
from .handlers.api_versions import unsupported_version_response
from .protocol.codec import decode_request, encode_body, encode_response, peek_header
from .protocol.errors import ProtocolError, UnsupportedApiError
from .protocol.fast import EncodedResponse
from .protocol.framing import FrameDecoder
from .state import BrokerState

log = logging.getLogger(__name__)

# Stop reading from a client that has this many request bytes queued but not yet handled.
MAX_QUEUED_BYTES = 8 * 1024 * 1024
SHUTDOWN_GRACE_S = 2.0


MAX_COALESCED = 16


def _is_produce(frame: bytes) -> bool:
    return frame[:2] == b"\x00\x00"


def _address(sockaddr: Any) -> tuple[str, int]:
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        return str(sockaddr[0]), int(sockaddr[1])
    return "", 0


class Connection(asyncio.Protocol):
    """Frames requests with the sans-IO decoder and answers them strictly in order."""

    def __init__(self, server: BrokerServer) -> None:
        self._server = server
        self._state = server.state
        self._decoder = FrameDecoder(server.state.config.get_int("socket.request.max.bytes"))
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._transport: asyncio.Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._paused = False
        self._closing = False
        self._held = 0
        self.busy = False
        self.peer = ("", 0)
        self.local = ("", 0)

    # -- protocol callbacks -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.peer = _address(transport.get_extra_info("peername"))
        self.local = _address(transport.get_extra_info("sockname"))
        if not self._server.admit(self):
            self._closing = True
            transport.abort()
            return
        self._server.connections.add(self)
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._server.tasks.add(self._task)
        self._task.add_done_callback(self._server.tasks.discard)

    def _account(self) -> None:
        """Keep the server-wide count of request bytes held by connections up to date."""
        held = 0 if self._closing else self._decoder.buffered + self._queued_bytes
        self._server.buffered_bytes += held - self._held
        self._held = held

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        limit = self._server.max_buffered_bytes
        if limit >= 0 and self._server.buffered_bytes + len(data) > limit:
            self.abort(f"requests of all clients exceed queued.max.request.bytes ({limit})")
            return
        self._decoder.feed(data)
        try:
            while (frame := self._decoder.next_frame()) is not None:
                self._queue.append(frame)
                self._queued_bytes += len(frame)
        except ProtocolError as exc:
            self.abort(f"{exc}")
            return
        self._account()
        if self._queue:
            self._wakeup.set()
        if (
            not self._paused
            and self._queued_bytes + self._decoder.buffered > MAX_QUEUED_BYTES
            and self._queued_bytes > 0
        ):
            self._paused = True
            if self._transport is not None:
                self._transport.pause_reading()

    def eof_received(self) -> bool | None:
        self._closing_after_queue()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._account()
        self._server.connections.discard(self)
        self._writable.set()
        self._wakeup.set()
        if self._task is not None and not self.busy:
            self._task.cancel()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- request pipeline ---------------------------------------------------------------------
    def _closing_after_queue(self) -> None:
        self._queue.append(b"")  # sentinel: close once earlier requests are answered
        self._wakeup.set()

    def abort(self, reason: str, *, logged: bool = False) -> None:
        """Close this connection (and only this one) with a single log line."""
        if not self._closing and not logged:
            log.warning("Closing connection from %s:%d: %s", self.peer[0], self.peer[1], reason)
        self._closing = True
        self._queue.clear()
        self._account()
        if self._transport is not None:
            self._transport.abort()

    def close_when_idle(self) -> None:
        self._closing_after_queue()

    async def _write(self, pending: list[bytes]) -> None:
        if self._transport is not None and not self._closing:
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))
        pending.clear()
        if not self._writable.is_set():
            await self._writable.wait()

    async def _run(self) -> None:
        pending: list[bytes] = []
        frame = b""
        try:
            while not self._closing:
                if not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                frame = self._queue.popleft()
                if not frame:
                    if pending:
                        await self._write(pending)
                    if self._transport is not None:
                        self._transport.close()
                    return
                self._queued_bytes -= len(frame)
                self._account()
                if self._paused and self._queued_bytes <= MAX_QUEUED_BYTES // 2:
                    self._paused = False
                    if self._transport is not None and not self._closing:
                        self._transport.resume_reading()
                # Coalesce the responses of pipelined produce requests into one write; flush
                # before anything that may wait (fetch long-poll, group joins) so earlier
                # responses are never held back.
                if pending and not _is_produce(frame):
                    await self._write(pending)
                self.busy = True
                try:
                    out = await self._handle(frame)
                finally:
                    self.busy = False
                if out:
                    pending.append(out)
                if pending and (not self._queue or len(pending) >= MAX_COALESCED):
                    await self._write(pending)
        except asyncio.CancelledError:
            if self._transport is not None:
                self._transport.abort()
            raise
        except ProtocolError as exc:
            self.abort(str(exc))
        except Exception as exc:
            self._server.failures.record(exc, frame, self.peer)
            self.abort("handler failure", logged=True)

    async def _handle(self, frame: bytes) -> bytes | None:
        header = peek_header(frame)
        spec = API_TABLE.get(header.api_key)
        if spec is None:
            raise UnsupportedApiError(f"unsupported API key {header.api_key}")
        if not spec.min_version <= header.api_version <= spec.max_version:
            if header.api_key == API_VERSIONS_KEY:
                return encode_response(header.correlation_id, unsupported_version_response())
            raise UnsupportedApiError(
                f"unsupported version {header.api_version} of API key {header.api_key} "
                f"(supported {spec.min_version}-{spec.max_version})"
            )
        header, request = decode_request(frame)
        ctx = RequestContext(
            api_key=header.api_key,
            api_version=header.api_version,
            correlation_id=header.correlation_id,
            client_id=header.client_id,
            client_host=self.peer[0],
            client_port=self.peer[1],
            local_host=self.local[0],
            local_port=self.local[1],
        )
        response = await spec.handler(ctx, request, self._state)
        if response is None:
            return None
        if isinstance(response, EncodedResponse):
            return encode_body(
                header.correlation_id, response.body, flexible_header=response.flexible_header
            )
        return encode_response(header.correlation_id, response)


class BrokerServer:
    """Owns the listening socket, the live connections and the periodic storage work."""

    def __init__(self, state: BrokerState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.buffered_bytes = 0
        self.max_buffered_bytes = state.config.get_int("queued.max.request.bytes")
        self.max_connections = state.config.get_int("max.connections")
        self._refusing = False
        self._server: asyncio.Server | None = None
        self.failures = HandlerFailureLog(log)

    def admit(self, conn: Connection) -> bool:
        """Whether a new connection fits under max.connections; logs once per full spell."""
        if len(self.connections) < self.max_connections:
            self._refusing = False
            return True
        if not self._refusing:
            self._refusing = True
            log.warning(
                "Refusing connections (the first from %s:%d): %d clients are connected, the "
                "max.connections limit. Close idle clients or raise max.connections.",
                conn.peer[0],
                conn.peer[1],
                len(self.connections),
            )
        return False

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Connection(self), self.host, self.port, reuse_address=True, backlog=256
        )
        sockname = self._server.sockets[0].getsockname()
        self.port = int(sockname[1])
        flusher = LogFlusher(self.state)  # periodic fsync and retention, off the event loop
        flusher.start()
        self.state.on_shutdown(flusher.stop)  # before the logs are flushed and closed
        return self.host, self.port

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish briefly, then close everything."""
        if self._server is not None:
            self._server.close()
        self.state.begin_shutdown()
        for conn in list(self.connections):
            conn.close_when_idle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE_S
        while any(c.busy for c in self.connections) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            conn.abort("broker shutting down") if conn.busy else conn.close_when_idle()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        await asyncio.sleep(0)  # let connection_lost callbacks run
        pending = list(self.tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await self.state.shutdown()
