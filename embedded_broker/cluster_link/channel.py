"""One Kafka-protocol connection from a broker to the controller (request, then response)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

from kio.serial import entity_reader

from embedded_broker.protocol.codec import (
    RequestHeader,
    api_schema,
    encode_request,
    skip_tagged_fields,
)

_SIZE = struct.Struct(">i")
_CORRELATION = struct.Struct(">i")


class ControllerUnavailableError(ConnectionError):
    """The controller did not answer (not running, or too slow)."""


class ControllerChannel:
    """Sends requests one at a time and reconnects after any failure."""

    def __init__(self, host: str, port: int, client_id: str, timeout_s: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._correlation = 0

    async def call(self, request: Any, *, timeout_s: float | None = None) -> Any:
        """Send ``request`` (a kio request object) and return the decoded response."""
        async with self._lock:
            reused = self._writer is not None
            try:
                return await self._attempt(request, timeout_s)
            except ControllerUnavailableError:
                raise  # too slow, or an answer that made no sense: no second try
            except (OSError, asyncio.IncompleteReadError) as exc:
                if not reused:
                    raise self._unavailable(exc) from exc
                # an idle connection to a controller that has since restarted: once more on
                # a new connection
            try:
                return await self._attempt(request, timeout_s)
            except ControllerUnavailableError:
                raise
            except (OSError, asyncio.IncompleteReadError) as exc:
                raise self._unavailable(exc) from exc

    async def _attempt(self, request: Any, timeout_s: float | None) -> Any:
        try:
            return await asyncio.wait_for(self._call(request), timeout_s or self.timeout_s)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            if isinstance(exc, TimeoutError | ValueError):
                raise self._unavailable(exc) from exc
            raise

    def _unavailable(self, exc: BaseException) -> ControllerUnavailableError:
        return ControllerUnavailableError(
            f"the controller at {self.host}:{self.port} did not answer ({exc!r})"
        )

    async def _call(self, request: Any) -> Any:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._correlation += 1
        key, version = request.__api_key__, request.__version__
        header = RequestHeader(key, version, self._correlation, self.client_id)
        self._writer.write(encode_request(header, request))
        await self._writer.drain()
        (size,) = _SIZE.unpack(await self._reader.readexactly(4))
        frame = await self._reader.readexactly(size)
        (correlation,) = _CORRELATION.unpack_from(frame, 0)
        if correlation != self._correlation:
            raise ValueError(f"correlation id {correlation}, expected {self._correlation}")
        schema = api_schema(key, version)
        offset = skip_tagged_fields(frame, 4) if schema.response_header_flexible else 4
        response, _ = entity_reader(schema.response_type)(frame, offset)
        return response

    def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._reader = self._writer = None
