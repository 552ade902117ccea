"""Request header parsing, request decoding and response encoding on top of kio's schema classes."""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from kio.index import load_request_schema, load_response_schema
from kio.serial import entity_reader, entity_writer
from kio.serial.readers import read_unsigned_varint

from .errors import ProtocolError, UnsupportedApiError
from .guard import check_request

_HEADER_FIXED = struct.Struct(">hhih")
_I32 = struct.Struct(">i")
_I16 = struct.Struct(">h")

API_VERSIONS_KEY = 18


@dataclass(frozen=True, slots=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


@dataclass(frozen=True, slots=True)
class ApiSchema:
    """The kio request/response classes of one API key and version."""

    request_type: type[Any]
    response_type: type[Any]
    flexible: bool

    @property
    def response_header_flexible(self) -> bool:
        # ApiVersions responses always use response header v0, so old clients can parse them.
        return self.flexible and self.request_type.__api_key__ != API_VERSIONS_KEY


@cache
def api_schema(api_key: int, api_version: int) -> ApiSchema:
    """kio schema classes for an API key and version (UnsupportedApiError if kio lacks them)."""
    try:
        request_type = load_request_schema(api_key, api_version)
        response_type = load_response_schema(api_key, api_version)
    except Exception as exc:  # kio raises several index/import errors for unknown schemas
        raise UnsupportedApiError(f"unknown API key {api_key} version {api_version}") from exc
    return ApiSchema(request_type, response_type, bool(request_type.__flexible__))


def warm_schemas(versions: Iterable[tuple[int, int, int]]) -> None:
    """Load the kio schemas of (api key, min version, max version) ahead of their first request.

    kio imports a schema module on first use; done on the event loop that stalls every other
    connection for tens of milliseconds per new API. Run on a background thread at start.
    """
    for api_key, low, high in versions:
        for version in range(low, high + 1):
            with contextlib.suppress(UnsupportedApiError):
                api_schema(api_key, version)


def peek_header(frame: bytes) -> RequestHeader:
    """Parse the fixed part of a request header (api key, version, correlation id, client id)."""
    try:
        api_key, api_version, correlation_id, client_id_len = _HEADER_FIXED.unpack_from(frame, 0)
    except struct.error as exc:
        raise ProtocolError("truncated request header") from exc
    client_id: str | None = None
    if client_id_len >= 0:
        raw = frame[10 : 10 + client_id_len]
        if len(raw) != client_id_len:
            raise ProtocolError("truncated client id")
        try:
            client_id = raw.decode()
        except UnicodeDecodeError as exc:
            raise ProtocolError("client id is not UTF-8") from exc
    elif client_id_len != -1:
        raise ProtocolError(f"invalid client id length {client_id_len}")
    return RequestHeader(api_key, api_version, correlation_id, client_id)


def header_size(frame: bytes, header: RequestHeader, flexible: bool) -> int:
    """Byte length of the request header (v1, or v2 with its tagged fields when flexible)."""
    offset = 10 + (len(header.client_id.encode()) if header.client_id is not None else 0)
    if not flexible:
        return offset
    return skip_tagged_fields(frame, offset)


def skip_tagged_fields(frame: bytes, offset: int) -> int:
    try:
        count, n = read_unsigned_varint(frame, offset)
        offset += n
        for _ in range(count):
            _tag, n = read_unsigned_varint(frame, offset)
            offset += n
            size, n = read_unsigned_varint(frame, offset)
            offset += n + size
    except Exception as exc:
        raise ProtocolError("malformed tagged fields in request header") from exc
    if offset > len(frame):
        raise ProtocolError("truncated tagged fields in request header")
    return offset


def decode_request(frame: bytes) -> tuple[RequestHeader, Any]:
    """Decode a complete request frame into its header and kio request object.

    Raises UnsupportedApiError for API keys/versions kio does not know, ProtocolError for bytes
    that do not decode.
    """
    header = peek_header(frame)
    schema = api_schema(header.api_key, header.api_version)
    offset = header_size(frame, header, schema.flexible)
    check_request(frame, offset, schema.request_type)
    try:
        request, size = entity_reader(schema.request_type)(frame, offset)
    except Exception as exc:  # the native reader raises assorted errors on garbage
        raise ProtocolError(
            f"cannot decode api key {header.api_key} v{header.api_version}: {exc}"
        ) from exc
    if offset + size > len(frame):
        raise ProtocolError(f"api key {header.api_key} v{header.api_version}: truncated request")
    # Trailing bytes are ignored, as Kafka does (some librdkafka requests carry padding).
    return header, request


def encode_response(correlation_id: int, response: Any) -> bytes:
    """Encode a kio response object into a size-prefixed frame, with the right header version."""
    schema = api_schema(response.__api_key__, response.__version__)
    buf = io.BytesIO()
    buf.write(b"\x00\x00\x00\x00")
    buf.write(_I32.pack(correlation_id))
    if schema.response_header_flexible:
        buf.write(b"\x00")
    entity_writer(schema.response_type)(buf, response)
    data = buf.getbuffer()
    _I32.pack_into(data, 0, len(data) - 4)
    del data
    return buf.getvalue()


def encode_body(correlation_id: int, body: bytes, *, flexible_header: bool) -> bytes:
    """Frame an already encoded response body (see protocol.fast) with its header."""
    return response_head(correlation_id, len(body), flexible_header=flexible_header) + body


def response_head(correlation_id: int, body_size: int, *, flexible_header: bool) -> bytes:
    """Size prefix and header of a response whose body of ``body_size`` bytes follows."""
    header = _I32.pack(correlation_id) + (b"\x00" if flexible_header else b"")
    return _I32.pack(len(header) + body_size) + header


def encode_request(header: RequestHeader, request: Any) -> bytes:
    """Encode a request frame (used by tests and tools that talk to the broker)."""
    schema = api_schema(header.api_key, header.api_version)
    buf = io.BytesIO()
    buf.write(_HEADER_FIXED.pack(header.api_key, header.api_version, header.correlation_id, -1)[:8])
    if header.client_id is None:
        buf.write(_I16.pack(-1))
    else:
        raw = header.client_id.encode()
        buf.write(_I16.pack(len(raw)) + raw)
    if schema.flexible:
        buf.write(b"\x00")
    entity_writer(schema.request_type)(buf, request)
    payload = buf.getvalue()
    return _I32.pack(len(payload)) + payload
