"""Per-broker liveness probe: TCP connect plus an ApiVersions round trip, with a short deadline."""

from __future__ import annotations

import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor

from desktop.domain.cluster import BrokerInfo
from desktop.domain.liveness import ProbeResult

PROBE_TIMEOUT_S = 1.5
MAX_PARALLEL = 16  # a 100-broker cluster is probed in rounds of 16, not with 100 threads
_CLIENT_ID = b"topicscope-liveness"
# ApiVersions v0 (api key 18): the one request every Kafka broker answers before authentication
_REQUEST = struct.pack(">hhih", 18, 0, 0x7A11, len(_CLIENT_ID)) + _CLIENT_ID
_FRAME = struct.pack(">i", len(_REQUEST)) + _REQUEST


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("closed by the broker")
        data += chunk
    return data


def probe(
    broker: BrokerInfo, timeout_s: float = PROBE_TIMEOUT_S, speak: bool = True
) -> ProbeResult:
    """Can `broker` be reached now? `speak`: also ask ApiVersions (plaintext listeners only;
    a TLS or SASL listener is probed by its TCP handshake alone)."""
    start = time.monotonic()
    try:
        with socket.create_connection((broker.host, broker.port), timeout=timeout_s) as sock:
            if speak:
                sock.settimeout(max(0.05, timeout_s - (time.monotonic() - start)))
                sock.sendall(_FRAME)
                size, correlation = struct.unpack(">ii", _recv_exact(sock, 8))
                if correlation != 0x7A11 or size < 4:
                    return ProbeResult(broker.id, False, None, "not answering as Kafka")
    except TimeoutError:
        return ProbeResult(broker.id, False, None, f"timed out after {timeout_s:g} s")
    except ConnectionRefusedError:
        return ProbeResult(broker.id, False, None, "connection refused")
    except ConnectionResetError:
        return ProbeResult(broker.id, False, None, "connection reset")
    except socket.gaierror as exc:
        return ProbeResult(broker.id, False, None, f"host not found ({exc.strerror})")
    except OSError as exc:
        return ProbeResult(broker.id, False, None, exc.strerror or type(exc).__name__)
    return ProbeResult(broker.id, True, (time.monotonic() - start) * 1000)


def probe_all(
    brokers: list[BrokerInfo], timeout_s: float = PROBE_TIMEOUT_S, speak: bool = True
) -> list[ProbeResult]:
    """Probe every broker at once: one that hangs costs its own timeout, not the others'."""
    if not brokers:
        return []
    workers = min(MAX_PARALLEL, len(brokers))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        return list(pool.map(lambda b: probe(b, timeout_s, speak), brokers))
