"""Checking one partition's acknowledgement batches as a whole, before any is applied (KIP-932).

Kafka applies a partition's acknowledgement batches as one change: it first refuses a malformed
list (INVALID_REQUEST), then checks each batch against the share-partition, and if one cannot be
applied none is. These checks are pure; the caller applies the batches only when they pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from .partition import AckError, AckType, RecordState, SharePartition

# first offset, last offset, acknowledge types (one for the batch, or one per offset)
Batch = tuple[int, int, tuple[int, ...]]


def malformed(batches: Sequence[Batch]) -> bool:
    """Whether the list breaks a rule Kafka checks before reading any state: each batch's
    first offset not past its last, batches in offset order without overlap, one type for the
    batch or one per offset, every type a known one."""
    previous_last = -1
    for first, last, types in batches:
        if first > last or first < previous_last or not types:
            return True
        if len(types) > 1 and len(types) != last - first + 1:
            return True
        if any(t not in AckType._value2member_map_ for t in types):
            return True
        previous_last = last
    return False


def refusal(part: SharePartition, member_id: str, batches: Sequence[Batch]) -> AckError:
    """Why the share-partition cannot apply ``batches`` together (AckError.NONE when it can).

    Offsets wholly below the share-partition start offset are already done and skipped. A batch
    reaching past the records delivered is INVALID_REQUEST; a record not acquired by this
    member, or settled by an earlier batch of the same list, is INVALID_RECORD_STATE."""
    start, end = part.start_offset, part.end_offset
    touched: set[int] = set()
    for first, last, types in batches:
        if last < start:
            continue
        if end <= start:
            return AckError.INVALID_RECORD_STATE  # nothing in flight to acknowledge
        if first >= end or last >= end:
            return AckError.INVALID_REQUEST
        for offset in range(max(first, start), last + 1):
            kind = types[0] if len(types) == 1 else types[offset - first]
            rec = part.records.get(offset)
            if (
                rec is None
                or rec.state is not RecordState.ACQUIRED
                or rec.member_id != member_id
                or offset in touched
            ):
                return AckError.INVALID_RECORD_STATE
            if kind != AckType.RENEW:  # a renewed record stays acquired
                touched.add(offset)
    return AckError.NONE
