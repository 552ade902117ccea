"""Hand-written OffsetFetch response encoder (v1-v10); kio stays the reference.

A groups screen reads thousands of groups, one OffsetFetch each: building and encoding kio
objects for every partition was most of the broker's time. Unit tests compare the bytes with
kio's encoder for every version.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence

from .fast import EncodedResponse, _array_len, _nullable_string

_I16 = struct.Struct(">h")
_PART_V1 = struct.Struct(">iq")  # index, committed offset
_PART_V5 = struct.Struct(">iqi")  # index, committed offset, committed leader epoch
# the common partition of v6+ in one pack: no metadata (empty compact string), tag section
_PART_V6_EMPTY = struct.Struct(">iqiBhB")
_NO_THROTTLE = b"\x00\x00\x00\x00"

FetchedPartition = tuple[int, int, int, str | None, int]
"""(index, committed offset, committed leader epoch, metadata, error code)."""

FetchedTopic = tuple[str | None, uuid.UUID | None, Sequence[FetchedPartition]]
"""(name, topic id, partitions): v10 sends the id, older versions the name. A request's
all-zero id arrives as None (kio's reading of it) and goes back as zeros."""

_ZERO_ID = bytes(16)

FetchedGroup = tuple[str, Sequence[FetchedTopic], int]
"""(group id, topics, error code)."""


def encode_offset_fetch_response(version: int, groups: Sequence[FetchedGroup]) -> EncodedResponse:
    """The response body: v8+ answers every group; older versions answer their one group."""
    flexible = version >= 6
    out: list[bytes] = [_NO_THROTTLE] if version >= 3 else []
    if version >= 8:
        out.append(_array_len(len(groups), True))
        for group_id, topics, error in groups:
            out.append(_nullable_string(group_id, True))
            _topics(out, version, topics)
            out.append(_I16.pack(error))
            out.append(b"\x00")
    else:
        ((_group_id, topics, error),) = groups
        _topics(out, version, topics)
        if version >= 2:
            out.append(_I16.pack(error))
    if flexible:
        out.append(b"\x00")
    return EncodedResponse(b"".join(out), flexible_header=flexible)


def _topics(out: list[bytes], version: int, topics: Sequence[FetchedTopic]) -> None:
    flexible = version >= 6
    append = out.append
    append(_array_len(len(topics), flexible))
    for name, topic_id, partitions in topics:
        if version >= 10:
            append(_ZERO_ID if topic_id is None else topic_id.bytes)
        else:
            append(_nullable_string(name, flexible))
        append(_array_len(len(partitions), flexible))
        if flexible:
            for index, offset, epoch, metadata, error in partitions:
                if metadata == "":
                    append(_PART_V6_EMPTY.pack(index, offset, epoch, 1, error, 0))
                else:
                    append(_PART_V5.pack(index, offset, epoch))
                    append(_nullable_string(metadata, True))
                    append(_I16.pack(error))
                    append(b"\x00")
            append(b"\x00")
            continue
        for index, offset, epoch, metadata, error in partitions:
            if version >= 5:
                append(_PART_V5.pack(index, offset, epoch))
            else:
                append(_PART_V1.pack(index, offset))
            append(_nullable_string(metadata, False))
            append(_I16.pack(error))
