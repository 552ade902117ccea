"""The embedded consumer protocol of classic groups: ConsumerProtocolSubscription read, and
ConsumerProtocolAssignment written and read (Kafka's schemas, versions 0 to 3, big-endian)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .consumer_group import Partitions

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
ASSIGNMENT_MAX_VERSION = 3


class MalformedProtocolError(ValueError):
    """Embedded consumer protocol bytes that do not parse."""


class CustomAssignmentError(ValueError):
    """An assignment carrying user data: a custom assignor's, which a consumer group (whose
    assignment is computed by the broker) cannot carry on."""


@dataclass(frozen=True, slots=True)
class Subscription:
    version: int
    topics: tuple[str, ...]
    owned: Partitions
    rack_id: str | None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise MalformedProtocolError("the embedded consumer protocol ends early")
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out

    def i16(self) -> int:
        return int(_I16.unpack(self._take(2))[0])

    def i32(self) -> int:
        return int(_I32.unpack(self._take(4))[0])

    def string(self, nullable: bool = False) -> str | None:
        size = self.i16()
        if size < 0:
            if nullable:
                return None
            raise MalformedProtocolError("a null string where one is required")
        try:
            return self._take(size).decode()
        except UnicodeDecodeError as exc:
            raise MalformedProtocolError("a string that is not UTF-8") from exc

    def nullable_bytes(self) -> bytes | None:
        size = self.i32()
        return None if size < 0 else self._take(size)

    def count(self) -> int:
        n = self.i32()
        if n < 0 or n > len(self.data):
            raise MalformedProtocolError("an array length out of range")
        return n

    def partitions(self) -> Partitions:
        out: Partitions = {}
        for _ in range(self.count()):
            topic = self.string() or ""
            ps = {self.i32() for _ in range(self.count())}
            if ps:
                out.setdefault(topic, set()).update(ps)
        return out

    def at_end(self) -> bool:
        return self.pos >= len(self.data)


def parse_subscription(metadata: bytes) -> Subscription:
    """A ConsumerProtocolSubscription; later versions' fields are read when present."""
    r = _Reader(metadata)
    version = r.i16()
    if version < 0:
        raise MalformedProtocolError(f"subscription version {version}")
    topics = tuple(r.string() or "" for _ in range(r.count()))
    r.nullable_bytes()  # user data
    owned: Partitions = {}
    rack: str | None = None
    if version >= 1 and not r.at_end():
        owned = r.partitions()
    if version >= 2 and not r.at_end():
        r.i32()  # generation id
    if version >= 3 and not r.at_end():
        rack = r.string(nullable=True)
    return Subscription(version, topics, owned, rack)


def protocol_version(metadata: bytes) -> int:
    """The version a member's subscription is written in (what its assignment is written in)."""
    if len(metadata) < 2:
        return 0
    return max(0, min(int(_I16.unpack_from(metadata)[0]), ASSIGNMENT_MAX_VERSION))


def encode_assignment(parts: Partitions, version: int) -> bytes:
    """A ConsumerProtocolAssignment with no user data."""
    out = [_I16.pack(version), _I32.pack(len([t for t, ps in parts.items() if ps]))]
    for topic, ps in sorted(parts.items()):
        if not ps:
            continue
        raw = topic.encode()
        out.append(_I16.pack(len(raw)) + raw + _I32.pack(len(ps)))
        out.extend(_I32.pack(p) for p in sorted(ps))
    out.append(_I32.pack(-1))
    return b"".join(out)


def parse_assignment(data: bytes) -> Partitions:
    """The partitions of a ConsumerProtocolAssignment (empty bytes: none); CustomAssignmentError
    if it carries user data."""
    if not data:
        return {}
    r = _Reader(data)
    r.i16()
    parts = r.partitions()
    if not r.at_end() and r.nullable_bytes():
        raise CustomAssignmentError("the assignment carries user data")
    return parts
