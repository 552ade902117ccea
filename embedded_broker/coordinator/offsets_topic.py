"""Group state records as Kafka's __consumer_offsets keys and values, and a group's partition.

The coordinator's records (see records.py) map onto Kafka's schemas, so Kafka's own tools
(kafka-console-consumer --formatter ...OffsetsMessageFormatter / GroupMetadataMessageFormatter)
read the topic this broker writes:

- "offset" / "odel": OffsetCommitKey v1 (group, topic, partition) with OffsetCommitValue v3
  (offset, leader epoch, metadata, commit timestamp), or no value (a tombstone).
- "group" / "gdel": GroupMetadataKey v2 (group) with GroupMetadataValue v3 (protocol type,
  generation, protocol, leader, state time, members with the subscription of the chosen
  protocol and their assignment), or no value.
- "cgroup" / "cgdel" (KIP-848 groups): Kafka splits these over eight record types; this broker
  keeps one snapshot per group, written under a key version of its own (CONSUMER_GROUP_KEY),
  whose value is version 0 followed by the record as JSON. Kafka's formatters skip it.
- "sgroup" / "sgdel" (KIP-932 share groups' membership, share.group_records): the same, under
  SHARE_GROUP_KEY.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from .framing import Record

OFFSETS_TOPIC = "__consumer_offsets"
OFFSET_COMMIT_KEY = 1
GROUP_METADATA_KEY = 2
CONSUMER_GROUP_KEY = 0x7F00
SHARE_GROUP_KEY = 0x7F01
# key version -> (snapshot kind, tombstone kind) of the records kept as JSON
_JSON_KINDS = {CONSUMER_GROUP_KEY: ("cgroup", "cgdel"), SHARE_GROUP_KEY: ("sgroup", "sgdel")}
OFFSET_COMMIT_VALUE = 3
GROUP_METADATA_VALUE = 3

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class OffsetsRecordError(ValueError):
    """A __consumer_offsets record this broker cannot read."""


def partition_for(group_id: str, partitions: int) -> int:
    """Kafka's Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions."""
    h = 0
    for unit in _utf16_units(group_id):
        h = (31 * h + unit) & 0xFFFFFFFF
    if h >= 0x80000000:
        h -= 0x100000000
    return (0 if h == -(2**31) else abs(h)) % partitions


def _utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


# -- writing ---------------------------------------------------------------------------------


def _str(value: str | None) -> bytes:
    if value is None:
        return _I16.pack(-1)
    raw = value.encode()
    return _I16.pack(len(raw)) + raw


def _bytes(value: bytes) -> bytes:
    return _I32.pack(len(value)) + value


def encode(record: Record) -> tuple[bytes, bytes | None]:
    """(key, value) of a record; value None for a tombstone."""
    kind, group = record.get("t"), str(record.get("g"))
    if kind in ("offset", "odel"):
        key = (
            _I16.pack(OFFSET_COMMIT_KEY)
            + _str(group)
            + _str(str(record["tp"]))
            + _I32.pack(int(record["p"]))
        )
        if kind == "odel":
            return key, None
        return key, (
            _I16.pack(OFFSET_COMMIT_VALUE)
            + _I64.pack(int(record["o"]))
            + _I32.pack(int(record.get("e", -1)))
            + _str(record.get("m") or "")
            + _I64.pack(int(record.get("ts", 0)))
        )
    if kind in ("group", "gdel"):
        key = _I16.pack(GROUP_METADATA_KEY) + _str(group)
        return key, None if kind == "gdel" else _group_value(record)
    for key_version, (snapshot, tombstone) in _JSON_KINDS.items():
        if kind not in (snapshot, tombstone):
            continue
        key = _I16.pack(key_version) + _str(group)
        if kind == tombstone:
            return key, None
        return key, _I16.pack(0) + json.dumps(record, separators=(",", ":")).encode()
    raise OffsetsRecordError(f"no __consumer_offsets form for a record of kind {kind!r}")


def _group_value(r: Record) -> bytes:
    proto = r.get("proto")
    out = bytearray(_I16.pack(GROUP_METADATA_VALUE))
    out += _str(r.get("type") or "")
    out += _I32.pack(int(r.get("gen", 0)))
    out += _str(proto)
    out += _str(r.get("leader"))
    out += _I64.pack(int(r.get("since", -1)))
    members = r.get("members", [])
    out += _I32.pack(len(members))
    for m in members:
        # Kafka keeps only the subscription of the protocol the group chose
        subscription = next((meta for name, meta in m.get("protos", []) if name == proto), "")
        out += _str(str(m["id"]))
        out += _str(m.get("iid"))
        out += _str(str(m.get("cid", "")))
        out += _str(str(m.get("host", "")))
        out += _I32.pack(int(m["rt"]))
        out += _I32.pack(int(m["st"]))
        out += _bytes(_b64decode(subscription))
        out += _bytes(_b64decode(m.get("asg") or ""))
    return bytes(out)


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text) if text else b""


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- reading ---------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise OffsetsRecordError("a __consumer_offsets record ends early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def i16(self) -> int:
        value: int = _I16.unpack(self._take(2))[0]
        return value

    def i32(self) -> int:
        value: int = _I32.unpack(self._take(4))[0]
        return value

    def i64(self) -> int:
        value: int = _I64.unpack(self._take(8))[0]
        return value

    def string(self) -> str | None:
        n = self.i16()
        return None if n < 0 else self._take(n).decode()

    def text(self) -> str:
        return self.string() or ""

    def blob(self) -> bytes:
        n = self.i32()
        return b"" if n < 0 else self._take(n)


def decode(key: bytes, value: bytes | None) -> Record | None:
    """The coordinator record of a key and value; None for record types this broker does not
    keep (Kafka's other coordinator records, e.g. from a newer Kafka)."""
    k = _Reader(key)
    version = k.i16()
    if version in (0, 1):
        group, topic, partition = k.text(), k.text(), k.i32()
        if value is None:
            return {"t": "odel", "g": group, "tp": topic, "p": partition}
        return _offset_value(group, topic, partition, value)
    if version == GROUP_METADATA_KEY:
        group = k.text()
        if value is None:
            return {"t": "gdel", "g": group}
        return _group_record(group, value)
    if version in _JSON_KINDS:
        group = k.text()
        if value is None:
            return {"t": _JSON_KINDS[version][1], "g": group}
        if len(value) < 2:
            raise OffsetsRecordError("a group record has no value version")
        record: Record = json.loads(value[2:])
        return record
    return None


def _offset_value(group: str, topic: str, partition: int, value: bytes) -> Record:
    v = _Reader(value)
    version = v.i16()
    if version > OFFSET_COMMIT_VALUE:
        raise OffsetsRecordError(f"OffsetCommitValue version {version} is not supported")
    offset = v.i64()
    epoch = v.i32() if version >= 3 else -1
    metadata = v.text()
    commit_ms = v.i64()
    return {
        "t": "offset",
        "g": group,
        "tp": topic,
        "p": partition,
        "o": offset,
        "e": epoch,
        "m": metadata,
        "ts": commit_ms,
    }


def _group_record(group: str, value: bytes) -> Record:
    v = _Reader(value)
    version = v.i16()
    if version > GROUP_METADATA_VALUE:
        raise OffsetsRecordError(f"GroupMetadataValue version {version} is not supported")
    protocol_type = v.text() or None
    generation = v.i32()
    proto = v.string()
    leader = v.string()
    since = v.i64() if version >= 2 else -1
    members: list[dict[str, Any]] = []
    for _ in range(max(v.i32(), 0)):
        member_id = v.text()
        instance_id = v.string() if version >= 3 else None
        client_id = v.text()
        host = v.text()
        rebalance_ms = v.i32() if version >= 1 else -1
        session_ms = v.i32()
        subscription = v.blob()
        assignment = v.blob()
        members.append(
            {
                "id": member_id,
                "iid": instance_id,
                "cid": client_id,
                "host": host,
                "st": session_ms,
                "rt": rebalance_ms if rebalance_ms >= 0 else session_ms,
                "protos": [[proto, _b64encode(subscription)]] if proto else [],
                "asg": _b64encode(assignment),
            }
        )
    record: Record = {
        "t": "group",
        "g": group,
        "type": protocol_type,
        "gen": generation,
        "proto": proto,
        "leader": leader,
        "members": members,
    }
    if since >= 0:
        record["since"] = since
    return record
