"""asyncio Kafka server: one ordered request pipeline per connection, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import threading
import time
from typing import Any

from .flow import (
    OUTGOING_WATERMARK,
    WRITE_CHUNK,
    ConnectionFlow,
    MemoryPool,
    Outbox,
    OutgoingBudget,
)
from .flusher import LogFlusher
from .handler_failures import HandlerFailureLog
from .handlers import API_TABLE, RequestContext
from .handlers.api_versions import API_KEY as API_VERSIONS_KEY
from .handlers.api_versions import unsupported_version_response
from .log_cleaning import start_log_cleaner
from .protocol.codec import (
    decode_request,
    encode_body,
    encode_response,
    peek_header,
    response_head,
    warm_schemas,
)
from .protocol.errors import ProtocolError, UnsupportedApiError
from .protocol.fast import EncodedParts, EncodedResponse
from .security.listeners import Listener
from .security.runtime import Security
from .security.sasl import SASL_AUTHENTICATE, SASL_HANDSHAKE
from .security.tls import ssl_principal
from .state import BrokerState
from .txn.runtime import start_transaction_coordinator

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 2.0


MAX_COALESCED = 16


def _is_produce(frame: bytes) -> bool:
    return frame[:2] == b"\x00\x00"


def _address(sockaddr: Any) -> tuple[str, int]:
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        return str(sockaddr[0]), int(sockaddr[1])
    return "", 0


class Connection(asyncio.Protocol):
    """Moves bytes between the socket and the sans-IO flow (flow.py), answering requests
    strictly in order; reading pauses whenever the flow says so and never aborts for memory."""

    def __init__(self, server: BrokerServer, listener: Listener | None = None) -> None:
        self._server = server
        self.listener = "" if listener is None else listener.name
        # SASL listeners: the exchange gates every request until the client authenticated.
        self.sasl = None if server.security is None else server.security.session(self.listener)
        self.principal = "User:ANONYMOUS"
        self.tls = False
        self._state = server.state
        max_frame = server.state.config.get_int("socket.request.max.bytes")
        self.flow = ConnectionFlow(server.pool, max_frame, time.monotonic())
        self._outbox = Outbox(server.outgoing)
        self._wakeup = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._transport: asyncio.Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._reading = True
        self._closing = False
        self._eof = False
        # seconds the close waits after a failed authentication (the reply goes at once)
        self._close_delay = 0.0
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
        transport.set_write_buffer_limits(high=WRITE_CHUNK, low=WRITE_CHUNK // 4)
        self.peer = _address(transport.get_extra_info("peername"))
        self.local = _address(transport.get_extra_info("sockname"))
        if (ssl_object := transport.get_extra_info("ssl_object")) is not None:
            self.tls = True
            security = self._server.security
            principal = (
                ssl_principal(ssl_object)
                if security is None
                else security.ssl_principal(self.listener, ssl_object)
            )
            if principal is None:  # no mapping rule applies: Kafka refuses such a client
                self._closing = True
                self.flow.close()
                transport.abort()
                return
            self.principal = principal
        if not self._server.admit(self):
            self._closing = True
            self.flow.close()
            transport.abort()
            return
        self._server.connections.add(self)
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._server.tasks.add(self._task)
        self._task.add_done_callback(self._server.tasks.discard)
        self.sync_reading()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            got = self.flow.receive_data(data, time.monotonic())
        except ProtocolError as exc:
            self.abort(f"{exc}")
            return
        if got:
            self._wakeup.set()
        self.sync_reading()

    def eof_received(self) -> bool | None:
        self.close_when_idle()
        return None if self.tls else True  # TLS has no half-close; asyncio warns on True

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        self._server.connections.discard(self)
        self._writable.set()
        self._wakeup.set()
        if self._task is not None and not self.busy:
            self._task.cancel()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()
        self._pump()

    # -- flow control -------------------------------------------------------------------------
    def sync_reading(self) -> None:
        """Pause or resume reading the socket as the flow says (memory, queue, mute)."""
        want = not self._closing and not self._eof and self.flow.reading_allowed
        if self.flow.waiting_for_memory and not self._closing:
            self._server.memory_waiters.add(self)
        else:
            self._server.memory_waiters.discard(self)
        if want != self._reading and self._transport is not None and not self._closing:
            self._reading = want
            if want:
                self._transport.resume_reading()
            else:
                self._transport.pause_reading()

    @property
    def unsent(self) -> int:
        """Response bytes not yet taken by the kernel."""
        if self._transport is None:
            return self._outbox.size
        return self._outbox.size + self._transport.get_write_buffer_size()

    def _pump(self) -> None:
        """Hand outbox bytes to the transport while it is below its high-water mark."""
        transport = self._transport
        if transport is None or self._closing:
            return
        outbox = self._outbox
        while outbox.size and self._writable.is_set():
            transport.write(outbox.take())
            if transport.is_closing():
                break

    async def _drain(self, *, fully: bool = False) -> None:
        """Send; then wait while more than the watermark (or, if ``fully``, anything in the
        outbox) is unsent. Meanwhile the connection is muted: no reading, no new request."""
        self._pump()
        if not self._must_wait(fully):
            return
        self.flow.muted = True
        self.sync_reading()
        try:
            while self._must_wait(fully):
                await self._writable.wait()  # cleared: the transport is above its high mark
                self._pump()
        finally:
            self.flow.muted = False
            self.sync_reading()

    def _must_wait(self, fully: bool) -> bool:
        transport = self._transport
        if self._closing or transport is None or transport.is_closing():
            return False
        return (fully and self._outbox.size > 0) or self.unsent > OUTGOING_WATERMARK

    # -- request pipeline ---------------------------------------------------------------------
    def _release(self) -> None:
        """Return this connection's request and response memory to the server's budgets."""
        self._closing = True
        self.flow.close()
        self._outbox.clear()
        self._server.memory_waiters.discard(self)
        self._server.memory_returned()

    def abort(self, reason: str, *, logged: bool = False) -> None:
        """Close this connection (and only this one) with a single log line."""
        if not self._closing and not logged:
            log.warning("Closing connection from %s:%d: %s", self.peer[0], self.peer[1], reason)
        self._release()
        if self._transport is not None:
            self._transport.abort()

    def close_when_idle(self) -> None:
        """Close once the requests received so far are answered; read no more."""
        self._eof = True
        self.sync_reading()
        self._wakeup.set()

    def idle_for(self, now: float) -> float:
        """Seconds with no request in flight and nothing to send (0 while there is)."""
        if self._closing:
            return 0.0
        return self.flow.idle_for(now, busy=self.busy, unsent=self.unsent)

    def close_idle(self, idle_ms: int) -> None:
        log.debug(
            "Closing connection from %s:%d: idle for more than connections.max.idle.ms (%d)",
            self.peer[0],
            self.peer[1],
            idle_ms,
        )
        self._release()
        if self._transport is not None:
            self._transport.close()

    async def _run(self) -> None:
        flow = self.flow
        outbox = self._outbox
        frame: bytes | None = None  # the request being handled, for the failure log
        try:
            while not self._closing:
                frame = flow.next_request()
                if frame is None:
                    if outbox.size:
                        await self._drain(fully=self._eof)
                    if self._eof and not flow.has_requests:
                        if self._close_delay > 0:
                            await asyncio.sleep(self._close_delay)
                        if self._transport is not None and not self._closing:
                            self._transport.close()
                        return
                    if not flow.has_requests:
                        self._wakeup.clear()
                        await self._wakeup.wait()
                    continue
                self._server.memory_returned()
                self.sync_reading()
                # Coalesce the responses of pipelined produce requests into one write; send
                # before anything that may wait (fetch long-poll, group joins) so earlier
                # responses are never held back.
                if outbox.size and not _is_produce(frame):
                    await self._drain()
                self.busy = True
                try:
                    chunks = await self._handle(frame)
                finally:
                    self.busy = False
                if self._closing:  # lost while the handler ran: nothing to send to
                    return
                outbox.push(chunks)
                flow.touch(time.monotonic())
                if outbox.size and (
                    not flow.has_requests
                    or len(outbox) >= MAX_COALESCED
                    or outbox.size >= WRITE_CHUNK
                ):
                    await self._drain()
        except asyncio.CancelledError:
            if self._transport is not None:
                self._transport.abort()
            raise
        except ProtocolError as exc:
            self.abort(str(exc))
        except Exception as exc:
            self._server.failures.record(exc, frame or b"", self.peer)
            self.abort("handler failure", logged=True)

    async def _handle(self, frame: bytes) -> list[bytes]:
        sasl = self.sasl
        if sasl is not None and sasl.expects_raw_token:  # after SaslHandshake v0
            return [sasl.raw_token(frame, time.monotonic())]
        header = peek_header(frame)
        if sasl is not None:
            sasl.admit(header.api_key, time.monotonic())  # may close, as Kafka does
        spec = API_TABLE.get(header.api_key)
        if spec is None:
            raise UnsupportedApiError(f"unsupported API key {header.api_key}")
        if not spec.min_version <= header.api_version <= spec.max_version:
            if header.api_key == API_VERSIONS_KEY:
                return [encode_response(header.correlation_id, unsupported_version_response())]
            raise UnsupportedApiError(
                f"unsupported version {header.api_version} of API key {header.api_key} "
                f"(supported {spec.min_version}-{spec.max_version})"
            )
        header, request = decode_request(frame)
        if sasl is not None and header.api_key in (SASL_HANDSHAKE, SASL_AUTHENTICATE):
            if header.api_key == SASL_HANDSHAKE:
                reply = sasl.handshake(request, header.api_version)
            else:
                reply = sasl.authenticate(request, time.monotonic())
            if sasl.failed:
                # Kafka closes after telling the client why, connection.failed.authentication.
                # delay.ms later. The reply goes at once: a client that reads the reply and the
                # close in one read (kafka-python 3.0) would otherwise lose Kafka's message.
                delay_ms = self._state.config.get_int("connection.failed.authentication.delay.ms")
                self._close_delay = delay_ms / 1000
                self.close_when_idle()
            elif sasl.principal is not None:
                self.principal = sasl.principal
            return [encode_response(header.correlation_id, reply)]
        ctx = RequestContext(
            api_key=header.api_key,
            api_version=header.api_version,
            correlation_id=header.correlation_id,
            client_id=header.client_id,
            client_host=self.peer[0],
            client_port=self.peer[1],
            local_host=self.local[0],
            local_port=self.local[1],
            outgoing=self._server.outgoing,
            listener=self.listener,
            principal=self.principal,
        )
        response = await spec.handler(ctx, request, self._state)
        if response is None:
            return []
        if isinstance(response, EncodedResponse):
            return [
                encode_body(
                    header.correlation_id, response.body, flexible_header=response.flexible_header
                )
            ]
        if isinstance(response, EncodedParts):
            head = response_head(
                header.correlation_id, response.size, flexible_header=response.flexible_header
            )
            return [head, *response.parts]
        return [encode_response(header.correlation_id, response)]


class BrokerServer:
    """Owns the listening socket, the live connections and the periodic storage work."""

    def __init__(
        self, state: BrokerState, host: str, port: int, security: Security | None = None
    ) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.security = security
        self.bound: dict[str, tuple[str, int]] = {}  # listener name -> host, port it listens on
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        config = state.config
        self.pool = MemoryPool(config.get_int("queued.max.request.bytes"))
        self.outgoing = OutgoingBudget(config.get_int("queued.max.response.bytes"))
        self.memory_waiters: set[Connection] = set()
        self.max_connections = config.get_int("max.connections")
        self.idle_ms = config.get_int("connections.max.idle.ms")
        self._idle_timer: asyncio.TimerHandle | None = None
        self._refusing = False
        self._server: asyncio.Server | None = None
        self._servers: list[asyncio.Server] = []
        self.failures = HandlerFailureLog(log)

    def memory_returned(self) -> None:
        """Request memory came back: resume connections waiting for it, oldest need first."""
        if not self.memory_waiters or self.pool.exhausted:
            return
        for conn in list(self.memory_waiters):
            conn.flow.retry_memory()
            conn.sync_reading()
            if self.pool.exhausted:
                break

    def _check_idle(self) -> None:
        """Close connections idle longer than connections.max.idle.ms; reschedule."""
        now = time.monotonic()
        limit = self.idle_ms / 1000
        for conn in list(self.connections):
            if conn.idle_for(now) > limit:
                conn.close_idle(self.idle_ms)
        self._schedule_idle_check()

    def _schedule_idle_check(self) -> None:
        if self.idle_ms < 0:
            return
        interval = min(max(self.idle_ms / 4000, 0.01), 5.0)
        self._idle_timer = asyncio.get_running_loop().call_later(interval, self._check_idle)

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
        """Listen on every listener (the first one's address is returned)."""
        loop = asyncio.get_running_loop()
        if self.security is None:  # ConfigError when the listener settings are wrong
            data_dir = None if self.state.in_memory else self.state.data_dir
            self.security = Security(self.state.config, data_dir, self.host, self.port)
        security = self.security
        security.install(self.state.extensions)
        for listener in security.listeners.listeners:
            try:
                server = await loop.create_server(
                    functools.partial(Connection, self, listener),
                    listener.host,
                    listener.port,
                    reuse_address=True,
                    backlog=256,
                    ssl=security.ssl_context(listener.name),
                )
            except OSError as exc:
                for opened in self._servers:
                    opened.close()
                exc.filename = f"{listener.name}://{listener.host}:{listener.port}"
                raise
            self._servers.append(server)
            port = int(server.sockets[0].getsockname()[1])
            self.bound[listener.name] = (listener.host, port)
        self._server = self._servers[0]
        self.host, self.port = next(iter(self.bound.values()))
        self._schedule_idle_check()
        threading.Thread(
            target=warm_schemas,
            args=([(key, spec.min_version, spec.max_version) for key, spec in API_TABLE.items()],),
            name="schema-warmup",
            daemon=True,
        ).start()
        flusher = LogFlusher(self.state)  # periodic fsync and retention, off the event loop
        flusher.start()
        self.state.on_shutdown(flusher.stop)  # before the logs are flushed and closed
        start_log_cleaner(self.state)  # compaction on its own threads, stopped before closing
        start_transaction_coordinator(self.state)  # open transactions time out after a restart
        return self.host, self.port

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish briefly, then close everything."""
        for server in self._servers:
            server.close()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self.state.begin_shutdown()
        for conn in list(self.connections):
            conn.close_when_idle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE_S
        while any(c.busy for c in self.connections) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            conn.abort("broker shutting down") if conn.busy else conn.close_when_idle()
        for server in self._servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        await asyncio.sleep(0)  # let connection_lost callbacks run
        pending = list(self.tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await self.state.shutdown()
