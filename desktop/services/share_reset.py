"""Reset and delete a share group's share-partition start offsets (KIP-932), as
kafka-share-groups.sh --reset-offsets and --delete-offsets do. confluent-kafka has no call for
AlterShareGroupOffsets (API 91) or DeleteShareGroupOffsets (API 92): they go over kio_wire.
Blocking; no Qt."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from desktop.domain.groups import (
    ResetMode,
    ResetPlan,
    ResetRequest,
    ResetRow,
    new_offset,
    share_refusal,
)
from desktop.services.admin import KafkaServiceError
from desktop.services.kio_wire import KioWire, WireHolder, WireUnavailableError, request_type

ALTER, DELETE = 91, 92
NON_EMPTY_GROUP = 68
Key = tuple[str, int]

SHIFT_REFUSAL = "refused: no start offset to shift from"


class ShareOffsetsRefusedError(KafkaServiceError):
    """The broker refused because the share group has members: nothing was changed."""


def wire_of(holder: WireHolder | None) -> KioWire:
    """The kio wire, or a message saying why share offsets cannot be changed here."""
    if holder is None:
        raise KafkaServiceError("Share-group offsets cannot be changed from here.")
    try:
        return holder.get()
    except WireUnavailableError as exc:
        raise KafkaServiceError(f"Share-group offsets cannot be changed here: {exc}") from exc


def wire_failure(what: str, exc: Exception) -> KafkaServiceError:
    """A failure on the wire as a message for the user (kafka-python's errors included)."""
    if isinstance(exc, KafkaServiceError):
        return exc
    return KafkaServiceError(f"{what}: {exc or type(exc).__name__}")


def _module(api_key: int, version: int) -> Any:
    # the nested types live beside the request type, in the version's module
    return importlib.import_module(request_type(api_key, version).__module__)


def _check_top(response: Any, group_id: str) -> None:
    code = int(response.error_code)
    if code == NON_EMPTY_GROUP:
        raise ShareOffsetsRefusedError(share_refusal(group_id, None))
    if code:
        text = response.error_message or getattr(response.error_code, "name", str(code))
        raise KafkaServiceError(f"The coordinator of '{group_id}' refused: {text}")


def alter_share_offsets(wire: KioWire, group_id: str, offsets: Mapping[Key, int]) -> None:
    """AlterShareGroupOffsets: set each partition's share-partition start offset."""
    version = wire.version(ALTER, range(0, 1))
    mod = _module(ALTER, version)
    by_topic: dict[str, list[Any]] = {}
    for (topic, part), offset in sorted(offsets.items()):
        by_topic.setdefault(topic, []).append(
            mod.AlterShareGroupOffsetsRequestPartition(partition_index=part, start_offset=offset)
        )
    body = request_type(ALTER, version)(
        group_id=group_id,
        topics=tuple(
            mod.AlterShareGroupOffsetsRequestTopic(topic_name=t, partitions=tuple(ps))
            for t, ps in by_topic.items()
        ),
    )
    response = wire.to_coordinator(group_id, body, lambda r: r.error_code)
    _check_top(response, group_id)
    for t in response.responses:
        for p in t.partitions:
            if int(p.error_code):
                text = p.error_message or getattr(p.error_code, "name", str(p.error_code))
                raise KafkaServiceError(
                    f"The broker refused the share offset for {t.topic_name}[{p.partition_index}]"
                    f": {text}"
                )


def delete_share_offsets(wire: KioWire, group_id: str, topic: str) -> None:
    """DeleteShareGroupOffsets: forget the group's share-partition state for `topic`."""
    version = wire.version(DELETE, range(0, 1))
    mod = _module(DELETE, version)
    body = request_type(DELETE, version)(
        group_id=group_id, topics=(mod.DeleteShareGroupOffsetsRequestTopic(topic_name=topic),)
    )
    response = wire.to_coordinator(group_id, body, lambda r: r.error_code)
    _check_top(response, group_id)
    for t in response.responses:
        if int(t.error_code):
            text = t.error_message or getattr(t.error_code, "name", str(t.error_code))
            raise KafkaServiceError(f"The broker refused to delete the offsets of {topic}: {text}")


def share_plan(
    req: ResetRequest,
    state: str,
    keys: list[Key],
    *,
    current: Mapping[Key, int],
    low: Mapping[Key, int],
    high: Mapping[Key, int],
    at_time: Mapping[Key, int],
) -> ResetPlan:
    """Current → new share start offset per partition. Unlike a consumer group's, a partition
    without state may be set to an offset (as kafka-share-groups does); only a shift needs one."""
    rows = []
    for key in keys:
        lo, hi = low.get(key, 0), high.get(key, 0)
        cur = current.get(key)
        new = new_offset(req.mode, req.value, cur, low=lo, high=hi, at_time=at_time.get(key))
        refused = SHIFT_REFUSAL if req.mode == ResetMode.SHIFT and cur is None else ""
        rows.append(ResetRow(key[0], key[1], cur, new, lo, hi, refused))
    return ResetPlan(req, state, tuple(rows))
