"""Schema-driven request frames: well-formed, or with one length field made hostile.

A client library cannot send the hostile ones (its encoder refuses), so tests build them from
the kio schema: every array holds ``repeat`` elements (one by default) so nested fields are
reached, every other field takes a harmless value, and at most one string, bytes or array
length is replaced: by null where the schema forbids null, or by the largest length its
encoding can express.
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


NULL = -1
HUGE = -2  # the largest length the field's encoding can express


@dataclass(frozen=True)
class SchemaFrame:
    """One request frame (without the size prefix) and where its hostile length is."""

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
    """A length prefix; NULL is null, HUGE the largest the encoding holds."""
    if flexible:
        return _uvarint(2**32 - 1 if n == HUGE else n + 1)
    if n == HUGE:
        n = 2 ** (8 * width - 1) - 1
    return struct.pack(">h" if width == 2 else ">i", n)


def _scalar(field: Any, kafka_type: str, flexible: bool, bad: int | None) -> bytes:
    if kafka_type in _FIXED:
        return _VALUES.get(field.name, bytes(_FIXED[kafka_type]))
    width = 2 if kafka_type == "string" else 4
    if bad is not None:
        return _length(bad, flexible, width)
    value = b"t" if kafka_type == "string" else b""
    return _length(len(value), flexible, width) + value


def _entity(
    entity_type: type[Any],
    target: str | None,
    prefix: str,
    repeat: int = 1,
    bad: int = NULL,
) -> bytes:
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
                out += _length(bad, flexible, 4)
                continue
            out += _length(repeat, flexible, 4)
            if is_entity:
                out += _entity(cls.type_, target, f"{path}[].", repeat, bad) * repeat
            else:
                kafka_type = get_schema_field_type(field)
                at = bad if target == f"{path}[]" else None
                out += _scalar(field, kafka_type, flexible, at) * repeat
        elif is_entity:
            if is_optional(field):
                out += b"\x01"
            out += _entity(cls.type_, target, f"{path}.", repeat, bad)
        else:
            at = bad if target == path else None
            out += _scalar(field, get_schema_field_type(field), flexible, at)
    if flexible:
        out += b"\x00"  # no tagged fields
    return bytes(out)


def _length_sites(entity_type: type[Any], nullable: bool, prefix: str = "") -> Iterator[str]:
    """Paths of the length fields; only the non-nullable ones unless ``nullable``."""
    for field in fields(entity_type):
        if get_field_tag(field) is not None:
            continue
        path = f"{prefix}{field.name}"
        cls = classify_field(field)
        is_entity = isinstance(cls, (EntityField, EntityTupleField))
        variable = not is_entity and get_schema_field_type(field) in ("string", "bytes", "records")
        if cls.is_array:
            if nullable or not is_optional(field):
                yield path
            if is_entity:
                yield from _length_sites(cls.type_, nullable, f"{path}[].")
            elif variable:
                yield f"{path}[]"
        elif is_entity:
            yield from _length_sites(cls.type_, nullable, f"{path}.")
        elif variable and (nullable or not is_optional(field)):
            yield path


def header(api_key: int, version: int, flexible: bool, correlation_id: int = 7) -> bytes:
    client = b"nulls"
    out = struct.pack(">hhih", api_key, version, correlation_id, len(client)) + client
    return out + (b"\x00" if flexible else b"")


def null_frames(api_key: int, version: int) -> Iterator[SchemaFrame]:
    """Every frame of this API version with one forbidden null."""
    request_type = load_request_schema(api_key, version)
    head = header(api_key, version, bool(request_type.__flexible__))
    for site in _length_sites(request_type, nullable=False):
        yield SchemaFrame(api_key, version, site, head + _entity(request_type, site, ""))


def huge_length_frames(api_key: int, version: int) -> Iterator[SchemaFrame]:
    """Every frame of this API version with one length at the most its encoding can say."""
    request_type = load_request_schema(api_key, version)
    head = header(api_key, version, bool(request_type.__flexible__))
    for site in _length_sites(request_type, nullable=True):
        frame = head + _entity(request_type, site, "", bad=HUGE)
        yield SchemaFrame(api_key, version, site, frame)


def valid_frame(api_key: int, version: int, repeat: int = 1) -> bytes:
    """A well-formed request (sized) whose every array holds ``repeat`` elements."""
    request_type = load_request_schema(api_key, version)
    body = header(api_key, version, bool(request_type.__flexible__)) + _entity(
        request_type, None, "", repeat
    )
    return struct.pack(">i", len(body)) + body


def all_null_frames() -> Iterator[SchemaFrame]:
    for api_key, spec in sorted(API_TABLE.items()):
        for version in range(spec.min_version, spec.max_version + 1):
            yield from null_frames(api_key, version)
