"""A minimal asyncio Kafka client connection a follower uses to talk to its leader."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from typing import Any

from kio.serial import entity_reader

from embedded_broker.protocol.codec import RequestHeader, api_schema, encode_request

_I32 = struct.Struct(">i")
# a response above this is a broken or hostile peer, not a leader
MAX_RESPONSE = 256 * 1024 * 1024


class LeaderConnection:
    """One TCP connection; requests are sent one at a time and their responses decoded."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)

    @classmethod
    async def open(cls, host: str, port: int, timeout: float) -> LeaderConnection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer)

    async def request(self, request: Any, timeout: float) -> Any:
        """Send ``request`` (a kio request object) and return the decoded response."""
        correlation = next(self._ids)
        api_key = int(request.__api_key__)
        version = int(request.__version__)
        header = RequestHeader(api_key, version, correlation, "replica-fetcher")
        self._writer.write(encode_request(header, request))
        await self._writer.drain()
        size_bytes = await asyncio.wait_for(self._reader.readexactly(4), timeout)
        size = _I32.unpack(size_bytes)[0]
        if not 4 <= size <= MAX_RESPONSE:
            raise ConnectionError(f"the leader sent a response of {size} bytes")
        frame = await asyncio.wait_for(self._reader.readexactly(size), timeout)
        if _I32.unpack_from(frame, 0)[0] != correlation:
            raise ConnectionError("the leader answered out of order")
        schema = api_schema(api_key, version)
        offset = 5 if schema.response_header_flexible else 4
        response, _ = entity_reader(schema.response_type)(frame, offset)
        return response

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self._writer.wait_closed()
