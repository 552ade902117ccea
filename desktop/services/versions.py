"""Tell a broker's Kafka generation from its ApiVersions answer (PLAINTEXT listeners only)."""

from __future__ import annotations

import socket
import struct

API_VERSIONS = 18
PRODUCE = 0
FETCH = 1


def api_versions(host: str, port: int, timeout: float = 5.0) -> dict[int, tuple[int, int]]:
    """ApiVersions v0 over a plain socket: {api_key: (min_version, max_version)}."""
    client_id = b"topicscope"
    header = struct.pack(">hhih", API_VERSIONS, 0, 1, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(header)) + header)
        size = struct.unpack(">i", _read(sock, 4))[0]
        body = _read(sock, size)
    _correlation, error, count = struct.unpack_from(">ihi", body, 0)
    if error != 0:
        raise ValueError(f"ApiVersions error {error}")
    out: dict[int, tuple[int, int]] = {}
    for i in range(count):
        key, low, high = struct.unpack_from(">hhh", body, 10 + 6 * i)
        out[key] = (low, high)
    return out


def _read(sock: socket.socket, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def describe_generation(versions: dict[int, tuple[int, int]]) -> str:
    """Kafka 4.0 dropped Fetch versions below 4 (KIP-896); 3.x brokers still accept Fetch v0."""
    produce = versions.get(PRODUCE)
    fetch = versions.get(FETCH)
    if produce is None or fetch is None:
        return "Kafka-compatible broker"
    detail = f"Produce v{produce[1]}, Fetch v{fetch[1]}"
    if fetch[0] >= 4:
        return f"Apache Kafka 4.x or later ({detail})"
    return f"Apache Kafka 3.x or earlier ({detail})"


def client_version() -> str:
    """The confluent-kafka (Python client) version, e.g. "2.6.1"."""
    import confluent_kafka

    version: str = confluent_kafka.version()[0]
    return version
