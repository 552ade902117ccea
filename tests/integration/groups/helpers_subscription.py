"""ConsumerProtocolSubscription bytes, as Java and librdkafka send them in JoinGroup."""

from __future__ import annotations

import struct


def subscription(*topics: str) -> bytes:
    out = struct.pack(">hi", 0, len(topics))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    return out + struct.pack(">i", -1)
