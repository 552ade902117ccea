"""Structural check before kio's native decoder: bounded lengths, and null only where allowed.

kio's reader reserves memory for the declared element count up front, so a hostile count
(e.g. a compact array of 4 billion items in a 20-byte frame) would abort the process or
allocate gigabytes. It also returns None for a null array whatever the schema says, and a
handler iterating it would fail. This walker follows the schema without building objects and
rejects such frames as protocol errors, as Kafka's generated readers do ("non-nullable field
... was serialized as null"); it costs a few microseconds per request.
"""

from __future__ import annotations

import struct
from dataclasses import fields
from typing import Any

from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    PrimitiveField,
    PrimitiveTupleField,
    classify_field,
    get_field_tag,
    get_schema_field_type,
    is_optional,
)

from .errors import ProtocolError

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
_VARIABLE = {"string", "bytes", "records"}
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")

# A plan step: (kind, detail, is_array, optional, name). kind: "fixed" (size), "var" (kafka
# type), "entity" (plan of the nested entity). optional: the field (the array itself, for an
# array) may be null.
Step = tuple[str, Any, bool, bool, str]


class NullFieldError(ProtocolError):
    """A field the schema declares non-nullable was sent as null."""

    def __init__(self, path: list[str]) -> None:
        super().__init__("null field")
        self.path = path  # outermost field first; "[]" marks an array element


_PLANS: dict[type[Any], tuple[list[Step], dict[int, Step], bool]] = {}


def _step(field: Any, flexible: bool) -> Step:
    cls = classify_field(field)
    optional = is_optional(field)
    name = field.name
    if isinstance(cls, (EntityField, EntityTupleField)):
        return ("entity", cls.type_, cls.is_array, optional, name)
    assert isinstance(cls, (PrimitiveField, PrimitiveTupleField))
    kafka_type = get_schema_field_type(field)
    if kafka_type in _FIXED:
        return ("fixed", _FIXED[kafka_type], cls.is_array, optional, name)
    if kafka_type in _VARIABLE:
        return ("var", kafka_type, cls.is_array, optional, name)
    raise ProtocolError(f"unsupported schema type {kafka_type}")


def _plan(entity_type: type[Any]) -> tuple[list[Step], dict[int, Step], bool]:
    plan = _PLANS.get(entity_type)
    if plan is None:
        flexible = bool(entity_type.__flexible__)
        steps: list[Step] = []
        tagged: dict[int, Step] = {}
        for field in fields(entity_type):
            tag = get_field_tag(field)
            if tag is None:
                steps.append(_step(field, flexible))
            else:
                tagged[tag] = _step(field, flexible)
        plan = _PLANS[entity_type] = (steps, tagged, flexible)
    return plan


def _uvarint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise ProtocolError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 35:
            raise ProtocolError("varint too long")


def _need(pos: int, size: int, end: int) -> None:
    if size < 0 or pos + size > end:
        raise ProtocolError("field runs past the end of the request")


def _count(buf: bytes, pos: int, end: int, flexible: bool) -> tuple[int, int]:
    """Array length (-1 for null) and the new position; the count must fit the bytes left."""
    if flexible:
        raw, pos = _uvarint(buf, pos, end)
        count = raw - 1
    else:
        _need(pos, 4, end)
        count = _I32.unpack_from(buf, pos)[0]
        pos += 4
        if count < -1:
            raise ProtocolError("negative array length")
    if count > end - pos:
        raise ProtocolError(f"array claims {count} items but only {end - pos} bytes remain")
    return count, pos


def _value(buf: bytes, pos: int, end: int, step: Step, flexible: bool) -> int:
    kind, detail, _, optional, name = step
    if kind == "fixed":
        _need(pos, detail, end)
        return int(pos + detail)
    if kind == "var":
        if flexible:
            raw, pos = _uvarint(buf, pos, end)
            size = raw - 1
        elif detail == "string":
            _need(pos, 2, end)
            size = _I16.unpack_from(buf, pos)[0]
            pos += 2
        else:
            _need(pos, 4, end)
            size = _I32.unpack_from(buf, pos)[0]
            pos += 4
        if size == -1:
            if not optional:
                raise NullFieldError([name])
            return pos
        _need(pos, size, end)
        return pos + size
    if optional:
        _need(pos, 1, end)
        marker = buf[pos]
        pos += 1
        if marker == 0xFF:
            return pos
    return _entity(buf, pos, end, detail)


def _field(buf: bytes, pos: int, end: int, step: Step, flexible: bool) -> int:
    if not step[2]:
        return _value(buf, pos, end, step, flexible)
    count, pos = _count(buf, pos, end, flexible)
    if count < 0:
        if not step[3]:
            raise NullFieldError([step[4]])
        return pos
    item = (step[0], step[1], False, False, "[]")
    try:
        for _ in range(count):
            pos = _value(buf, pos, end, item, flexible)
    except NullFieldError as exc:
        # An element's own field ("[]" already first for a primitive element) or a nested one.
        exc.path[0:0] = [step[4]] if exc.path[0] == "[]" else [step[4], "[]"]
        raise
    return pos


def _entity(buf: bytes, pos: int, end: int, entity_type: type[Any]) -> int:
    steps, tagged, flexible = _plan(entity_type)
    for step in steps:
        try:
            pos = _field(buf, pos, end, step, flexible)
        except NullFieldError as exc:
            if step[0] == "entity" and not step[2]:
                exc.path.insert(0, step[4])  # a struct field; arrays added their own name
            raise
    if flexible:
        count, pos = _uvarint(buf, pos, end)
        if count > end - pos:
            raise ProtocolError("too many tagged fields")
        for _ in range(count):
            tag, pos = _uvarint(buf, pos, end)
            size, pos = _uvarint(buf, pos, end)
            _need(pos, size, end)
            tag_step = tagged.get(tag)
            if tag_step is not None:
                _field(buf, pos, pos + size, tag_step, flexible)
            pos += size
    return pos


def check_request(frame: bytes, offset: int, request_type: type[Any]) -> None:
    """Raise ProtocolError unless the body at ``offset`` is structurally within bounds."""
    try:
        _entity(frame, offset, len(frame), request_type)
    except NullFieldError as exc:
        api = request_type.__name__.removesuffix("Request")
        field = ".".join(exc.path).replace(".[]", "[]")
        raise ProtocolError(
            f"malformed {api} v{request_type.__version__} request: field {field} is null, "
            "which the protocol does not allow"
        ) from None
