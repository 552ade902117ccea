"""Typed cluster-metadata records (KRaft's RegisterBroker, PartitionChange, ...) and their codec."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, fields
from typing import Any

NO_LEADER = -1


@dataclass(frozen=True, slots=True)
class RegisterBroker:
    broker_id: int
    host: str
    port: int
    rack: str | None
    incarnation_id: str


@dataclass(frozen=True, slots=True)
class FenceBroker:
    broker_id: int
    epoch: int


@dataclass(frozen=True, slots=True)
class UnfenceBroker:
    broker_id: int
    epoch: int


@dataclass(frozen=True, slots=True)
class TopicRecord:
    name: str
    topic_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class PartitionRecord:
    topic_id: uuid.UUID
    partition: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int
    leader_epoch: int
    partition_epoch: int
    # a reassignment in progress: replicas being added, and being removed once it completes
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PartitionChange:
    """A change of leader and/or ISR and/or replicas; None fields stay as they were.

    Replaying it bumps the partition epoch, and the leader epoch when the leader changes."""

    topic_id: uuid.UUID
    partition: int
    leader: int | None = None
    isr: tuple[int, ...] | None = None
    replicas: tuple[int, ...] | None = None
    adding: tuple[int, ...] | None = None
    removing: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class RemoveTopic:
    topic_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class ConfigRecord:
    """A config of a topic (resource_type 2) or a broker (4, name "" = cluster default);
    value None removes the override."""

    resource_type: int
    resource_name: str
    name: str
    value: str | None


@dataclass(frozen=True, slots=True)
class ProducerIdsRecord:
    """A block of producer ids given to a broker: ids below ``next_producer_id`` are taken."""

    broker_id: int
    broker_epoch: int
    next_producer_id: int


@dataclass(frozen=True, slots=True)
class AclRecord:
    """An ACL binding (KRaft's AccessControlEntryRecord), with the wire codes of its enums."""

    resource_type: int
    resource_name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission: int


@dataclass(frozen=True, slots=True)
class RemoveAclRecord:
    """Removes the AclRecord with the same fields (KRaft's RemoveAccessControlEntryRecord)."""

    resource_type: int
    resource_name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission: int


@dataclass(frozen=True, slots=True)
class UserScramCredentialRecord:
    """A SCRAM user's credential for one mechanism (KRaft's UserScramCredentialRecord): the salt
    and keys in base64, never the password."""

    name: str
    mechanism: int  # the wire code: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512
    salt: str
    stored_key: str
    server_key: str
    iterations: int


@dataclass(frozen=True, slots=True)
class RemoveUserScramCredentialRecord:
    """Removes a user's credential for one mechanism (KRaft's RemoveUserScramCredentialRecord)."""

    name: str
    mechanism: int


MetadataRecord = (
    RegisterBroker
    | FenceBroker
    | UnfenceBroker
    | TopicRecord
    | PartitionRecord
    | PartitionChange
    | RemoveTopic
    | ConfigRecord
    | ProducerIdsRecord
    | AclRecord
    | RemoveAclRecord
    | UserScramCredentialRecord
    | RemoveUserScramCredentialRecord
)

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        RegisterBroker,
        FenceBroker,
        UnfenceBroker,
        TopicRecord,
        PartitionRecord,
        PartitionChange,
        RemoveTopic,
        ConfigRecord,
        ProducerIdsRecord,
        AclRecord,
        RemoveAclRecord,
        UserScramCredentialRecord,
        RemoveUserScramCredentialRecord,
    )
}


class RecordDecodeError(ValueError):
    """Bytes that are not a metadata record of this version."""


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def encode_record(record: MetadataRecord) -> bytes:
    """One record as compact JSON bytes tagged with its type."""
    body = {k: _plain(v) for k, v in asdict(record).items()}
    body["type"] = type(record).__name__
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def decode_record(data: bytes) -> MetadataRecord:
    """The record encoded by encode_record; RecordDecodeError for anything else."""
    try:
        body = json.loads(data)
        cls = _TYPES[body.pop("type")]
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in body:
                continue  # a field newer than the record: its default (a missing required
                # field fails below)
            raw = body[f.name]
            if raw is not None and f.name == "topic_id":
                raw = uuid.UUID(raw)
            elif isinstance(raw, list):
                raw = tuple(int(x) for x in raw)
            values[f.name] = raw
        record: MetadataRecord = cls(**values)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RecordDecodeError(f"not a metadata record: {exc}") from exc
    return record
