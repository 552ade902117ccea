"""Schema-driven request frames with one field null where the Kafka schema forbids null.

A client library cannot send these (its encoder refuses), so tests build them from the kio
schema: every array holds one element so nested fields are reached, every other field takes a
harmless value, and exactly one non-nullable string, bytes or array field is written as null.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from kio.index import load_request_schema
from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    classify_field,
    get_field_tag,
    get_schema_field_type,
    is_optional,
)

from embedded_broker.handlers import API_TABLE

_FIXED = {
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "int16": 2,
    "uint16": 2,
    "error_code": 2,
    "int32": 4,
    "uint32": 4,
    "timedelta_i32": 4,
    "int64": 8,
    "uint64": 8,
    "float64": 8,
    "timedelta_i64": 8,
    "datetime_i64": 8,
    "uuid": 16,
}
# Fields whose zero value would ask the broker for unbounded work or silence.
_VALUES = {"acks": struct.pack(">h", 1), "timeout": struct.pack(">i", 100)}


@dataclass(frozen=True)
class NullFrame:
    """One request frame (without the size prefix) and where its forbidden null is."""

    api_key: int
    version: int
    field: str  # dotted path with [] for array elements, e.g. "topics[].partitions"
    frame: bytes

    @property
    def api_name(self) -> str:
        """Kafka's name of the API, e.g. "Produce"."""
        name: str = load_request_schema(self.api_key, self.version).__name__
        return name.removesuffix("Request")

    @property
    def sized(self) -> bytes:
        return struct.pack(">i", len(self.frame)) + self.frame


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length(n: int, flexible: bool, width: int) -> bytes:
    """A length prefix; n = -1 is null."""
    if flexible:
        return _uvarint(n + 1)
    return struct.pack(">h" if width == 2 else ">i", n)


def _scalar(field: Any, kafka_type: str, flexible: bool, null: bool) -> bytes:
    if kafka_type in _FIXED:
        return _VALUES.get(field.name, bytes(_FIXED[kafka_type]))
    width = 2 if kafka_type == "string" else 4
    if null:
        return _length(-1, flexible, width)
    value = b"t" if kafka_type == "string" else b""
    return _length(len(value), flexible, width) + value


def _entity(entity_type: type[Any], target: str | None, prefix: str) -> bytes:
    flexible = bool(entity_type.__flexible__)
    out = bytearray()
    for field in fields(entity_type):
        if get_field_tag(field) is not None:
            continue  # tagged fields are left out: they are optional by construction
        path = f"{prefix}{field.name}"
        cls = classify_field(field)
        is_entity = isinstance(cls, (EntityField, EntityTupleField))
        if cls.is_array:
            if target == path:
                out += _length(-1, flexible, 4)
                continue
            out += _length(1, flexible, 4)
            if is_entity:
                out += _entity(cls.type_, target, f"{path}[].")
            else:
                kafka_type = get_schema_field_type(field)
                out += _scalar(field, kafka_type, flexible, target == f"{path}[]")
        elif is_entity:
            if is_optional(field):
                out += b"\x01"
            out += _entity(cls.type_, target, f"{path}.")
        else:
            out += _scalar(field, get_schema_field_type(field), flexible, target == path)
    if flexible:
        out += b"\x00"  # no tagged fields
    return bytes(out)


def _null_sites(entity_type: type[Any], prefix: str = "") -> Iterator[str]:
    for field in fields(entity_type):
        if get_field_tag(field) is not None:
            continue
        path = f"{prefix}{field.name}"
        cls = classify_field(field)
        is_entity = isinstance(cls, (EntityField, EntityTupleField))
        if cls.is_array:
            if not is_optional(field):
                yield path
            if is_entity:
                yield from _null_sites(cls.type_, f"{path}[].")
            elif get_schema_field_type(field) in ("string", "bytes", "records"):
                yield f"{path}[]"
        elif is_entity:
            yield from _null_sites(cls.type_, f"{path}.")
        elif get_schema_field_type(field) in ("string", "bytes", "records") and not is_optional(
            field
        ):
            yield path


def header(api_key: int, version: int, flexible: bool, correlation_id: int = 7) -> bytes:
    client = b"nulls"
    out = struct.pack(">hhih", api_key, version, correlation_id, len(client)) + client
    return out + (b"\x00" if flexible else b"")


def null_frames(api_key: int, version: int) -> Iterator[NullFrame]:
    """Every frame of this API version with one forbidden null."""
    request_type = load_request_schema(api_key, version)
    head = header(api_key, version, bool(request_type.__flexible__))
    for site in _null_sites(request_type):
        yield NullFrame(api_key, version, site, head + _entity(request_type, site, ""))


def valid_frame(api_key: int, version: int) -> bytes:
    """The same minimal request with no null (sized), to show the builder itself is sound."""
    request_type = load_request_schema(api_key, version)
    body = header(api_key, version, bool(request_type.__flexible__)) + _entity(
        request_type, None, ""
    )
    return struct.pack(">i", len(body)) + body


def all_null_frames() -> Iterator[NullFrame]:
    for api_key, spec in sorted(API_TABLE.items()):
        for version in range(spec.min_version, spec.max_version + 1):
            yield from null_frames(api_key, version)
