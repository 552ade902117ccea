"""Raw-socket helpers for what no client library does (never reading, pipelining)."""

from __future__ import annotations

import datetime
import socket
import struct

from kio.schema.api_versions.v3 import request as av3
from kio.schema.fetch.v4 import request as fetch4
from kio.schema.fetch.v4 import response as fetch4_resp
from kio.schema.types import TopicName
from kio.serial import entity_reader
from kio.static.primitive import i32, i32Timedelta, i64

from embedded_broker.protocol.codec import RequestHeader, encode_request

from .clients import TIMEOUT_S

MAX_I32 = 2**31 - 1


def connect(port: int, *, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connect, so the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(TIMEOUT_S)
    sock.connect(("127.0.0.1", port))
    return sock


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ConnectionError("closed by the broker")
        buf += chunk
    return bytes(buf)


def read_response(sock: socket.socket) -> bytes:
    """One response frame without its size prefix (correlation id first)."""
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, size)


def correlation_id(response: bytes) -> int:
    return int(struct.unpack(">i", response[:4])[0])


def api_versions_frame(cid: int) -> bytes:
    return encode_request(
        RequestHeader(18, 3, cid, "raw"),
        av3.ApiVersionsRequest(client_software_name="raw", client_software_version="1"),
    )


def fetch_frame(
    cid: int,
    topic: str,
    partitions: list[tuple[int, int]],
    *,
    max_bytes: int = MAX_I32,
    partition_max_bytes: int = MAX_I32,
    max_wait_ms: int = 0,
) -> bytes:
    """Fetch v4 of (partition, offset) pairs of one topic."""
    request = fetch4.FetchRequest(
        max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=max_wait_ms)),
        min_bytes=i32(1),
        max_bytes=i32(max_bytes),
        topics=(
            fetch4.FetchTopic(
                topic=TopicName(topic),
                partitions=tuple(
                    fetch4.FetchPartition(
                        partition=i32(index),
                        fetch_offset=i64(offset),
                        partition_max_bytes=i32(partition_max_bytes),
                    )
                    for index, offset in partitions
                ),
            ),
        ),
    )
    return encode_request(RequestHeader(1, 4, cid, "raw"), request)


def fetched_records(response: bytes) -> dict[int, bytes]:
    """partition → records of a Fetch v4 response (error-free partitions only)."""
    body, _ = entity_reader(fetch4_resp.FetchResponse)(response, 4)
    out: dict[int, bytes] = {}
    for topic in body.responses:
        for part in topic.partitions:
            assert part.error_code.value == 0, part.error_code
            out[int(part.partition_index)] = bytes(part.records or b"")
    return out


def batch_sizes(records: bytes) -> list[int]:
    """Sizes of the whole record batches in ``records`` (a trailing partial one is an error)."""
    sizes: list[int] = []
    at = 0
    while at < len(records):
        (length,) = struct.unpack_from(">i", records, at + 8)
        size = 12 + length
        assert at + size <= len(records), "a partial batch was returned"
        sizes.append(size)
        at += size
    return sizes


def batch_offsets(records: bytes) -> list[int]:
    """Every record offset covered by the batches in ``records``, in order."""
    out: list[int] = []
    at = 0
    for size in batch_sizes(records):
        base, _length = struct.unpack_from(">qi", records, at)
        (last_delta,) = struct.unpack_from(">i", records, at + 23)
        out.extend(range(base, base + last_delta + 1))
        at += size
    return out
