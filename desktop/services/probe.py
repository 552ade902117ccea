"""A short raw-socket probe: does this port answer as a Kafka broker, and if not, as what?

librdkafka reports a port that speaks another protocol only as a timeout after many seconds.
The probe sends one ApiVersions v0 request in plaintext and reads the first bytes back within a
deadline (2 s): an HTTP status line, a TLS alert, an SSH banner or a closed connection each
name the cause at once. A Kafka answer is followed by a Metadata request, which a SASL listener
refuses to serve before authentication (it closes the connection).
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from dataclasses import dataclass
from enum import StrEnum

PROBE_DEADLINE_S = 2.0
_CORRELATION = 0x7C5C0001
# The line breaks make a line-oriented server (HTTP, SMTP, Redis...) answer the request at once
# instead of waiting for the end of a line that never comes; Kafka takes any client id.
_CLIENT = b"topicscope-probe\r\n\r\n"


class Verdict(StrEnum):
    KAFKA = "kafka"  # answered ApiVersions and Metadata in plaintext
    KAFKA_SASL = "kafka-sasl"  # answered ApiVersions but closed on Metadata: wants SASL first
    HTTP = "http"
    TLS = "tls"  # a TLS listener, spoken to in plaintext
    OTHER = "other"  # answered with bytes that are not Kafka
    CLOSED = "closed"  # accepted, then closed without a word
    SILENT = "silent"  # accepted, said nothing within the deadline
    REFUSED = "refused"
    UNREACHABLE = "unreachable"  # no TCP connection at all (timeout, no route, no such host)


@dataclass(frozen=True)
class ProbeResult:
    host: str
    port: int
    verdict: Verdict
    detail: str = ""
    elapsed_s: float = 0.0

    @property
    def not_kafka(self) -> bool:
        """The port answers, but not as a Kafka broker spoken to the way the probe did."""
        return self.verdict in (Verdict.HTTP, Verdict.TLS, Verdict.OTHER, Verdict.KAFKA_SASL)

    def message(self, security_protocol: str = "PLAINTEXT") -> str:
        where = f"{self.host}:{self.port}"
        head = f"{where} answers, but not as a Kafka broker"
        if self.verdict == Verdict.HTTP:
            return f"{head}: it looks like an HTTP server ({self.detail}). Check the port."
        if self.verdict == Verdict.TLS:
            return (
                f"{head} spoken to in plaintext: it is a TLS port (it answered with a TLS "
                "alert). Set the security protocol to SSL or SASL_SSL."
            )
        if self.verdict == Verdict.KAFKA_SASL:
            return (
                f"{where} is a Kafka listener that requires SASL authentication: it closed the "
                f"connection on an unauthenticated request, and the profile uses "
                f"{security_protocol}. Set the security protocol to SASL_PLAINTEXT (or "
                "SASL_SSL) with a username and password."
            )
        if self.verdict == Verdict.OTHER:
            return f"{head}: it answered {self.detail}. Check the host and port."
        if self.verdict == Verdict.CLOSED:
            return (
                f"{where} accepted the connection and closed it without answering a Kafka request."
            )
        if self.verdict == Verdict.SILENT:
            return (
                f"{where} accepted the connection but did not answer a Kafka request within "
                f"{PROBE_DEADLINE_S:g} s."
            )
        if self.verdict == Verdict.REFUSED:
            return f"Connection refused by {where}: nothing is listening there."
        if self.verdict == Verdict.UNREACHABLE:
            return f"{where} could not be reached ({self.detail})."
        return f"{where} answers as a Kafka broker."


def api_versions_v0() -> bytes:
    """ApiVersions (key 18) v0 with request header v1: the one request every broker accepts."""
    body = struct.pack(">hhih", 18, 0, _CORRELATION, len(_CLIENT)) + _CLIENT
    return struct.pack(">i", len(body)) + body


def metadata_v0() -> bytes:
    """Metadata (key 3) v0 for no topic in particular (an empty list: all topics)."""
    body = struct.pack(">hhih", 3, 0, _CORRELATION + 1, len(_CLIENT)) + _CLIENT
    body += struct.pack(">i", 0)
    return struct.pack(">i", len(body)) + body


def classify(first: bytes) -> tuple[Verdict, str]:
    """What the first bytes of an answer to ApiVersions v0 say about the server."""
    if first.startswith(b"HTTP/"):
        status = first.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        return Verdict.HTTP, f"“{status}”"
    if first.lstrip()[:14].lower().startswith((b"<!doctype html", b"<html")):
        return Verdict.HTTP, "it sent an HTML page"  # an HTTP/0.9-style answer: no status line
    if len(first) >= 2 and first[0] == 0x15 and first[1] == 0x03:
        return Verdict.TLS, "TLS alert"
    if len(first) >= 8:
        size, corr = struct.unpack(">ii", first[:8])
        if corr == _CORRELATION and 0 < size < 1 << 20:
            return Verdict.KAFKA, ""
    if len(first) >= 3 and first[0] == 0x16 and first[1] == 0x03:
        return Verdict.TLS, "TLS handshake record"
    text = first[:40].decode("latin-1", "replace")
    printable = "".join(c if c.isprintable() else "." for c in text)
    if first.startswith(b"SSH-"):
        return Verdict.OTHER, f"with an SSH banner (“{printable.strip()}”)"
    return Verdict.OTHER, f"with “{printable}”"


def _read_some(sock: socket.socket, deadline: float, want: int = 8) -> bytes | None:
    """The first bytes of an answer before the deadline; b"" when closed, None when silent.

    At least `want` bytes (a Kafka size and correlation id); an HTTP answer up to its status line.
    """
    data = b""
    while len(data) < want or (data.startswith(b"HTTP/") and b"\r\n" not in data[:200]):
        if data.startswith(b"\x15\x03"):
            break  # a TLS alert: enough said
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk
    return data or None


def probe(host: str, port: int, deadline_s: float = PROBE_DEADLINE_S) -> ProbeResult:
    """Connect, send ApiVersions v0 in plaintext and classify the answer, all within deadline_s."""
    start = time.monotonic()
    deadline = start + deadline_s

    def done(verdict: Verdict, detail: str = "") -> ProbeResult:
        return ProbeResult(host, port, verdict, detail, time.monotonic() - start)

    try:
        sock = socket.create_connection((host, port), timeout=max(0.05, deadline_s * 0.75))
    except ConnectionRefusedError:
        return done(Verdict.REFUSED)
    except OSError as exc:
        return done(Verdict.UNREACHABLE, str(exc) or type(exc).__name__)
    try:
        verdict, detail = _converse(sock, deadline)
    finally:
        sock.close()
    if verdict == Verdict.CLOSED and _speaks_tls(host, port, deadline):
        # OpenSSL-based TLS servers close on a plaintext record without an alert
        return done(Verdict.TLS, "TLS handshake")
    return done(verdict, detail)


def _converse(sock: socket.socket, deadline: float) -> tuple[Verdict, str]:
    try:
        sock.sendall(api_versions_v0())
    except OSError:
        return Verdict.CLOSED, ""
    first = _read_some(sock, deadline)
    if first is None:
        return Verdict.SILENT, ""
    if not first:
        return Verdict.CLOSED, ""
    verdict, detail = classify(first)
    if verdict != Verdict.KAFKA:
        return verdict, detail
    size = struct.unpack(">i", first[:4])[0]
    if _drain(sock, deadline, size + 4 - len(first)) is None:
        return Verdict.KAFKA, ""  # slow, but Kafka: the client takes it from here
    try:
        sock.sendall(metadata_v0())
    except OSError:
        return Verdict.KAFKA_SASL, ""
    # a SASL listener closes the connection on any request but ApiVersions and SaslHandshake
    return (Verdict.KAFKA_SASL, "") if _read_some(sock, deadline) == b"" else (Verdict.KAFKA, "")


def _speaks_tls(host: str, port: int, deadline: float) -> bool:
    """Whether the port completes (or gets far enough into) a TLS handshake before the deadline."""
    left = deadline - time.monotonic()
    if left <= 0.05:
        return False
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=left) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except ssl.SSLCertVerificationError:
        return True
    except ssl.SSLError as exc:
        # an alert from the server (e.g. it wants a client certificate) is still TLS
        return "alert" in str(exc).lower()
    except OSError:
        return False


def _drain(sock: socket.socket, deadline: float, count: int) -> bytes | None:
    """Read exactly `count` more bytes (the rest of a response); None when the deadline passes."""
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(65536, count - len(data)))
        except (TimeoutError, OSError):
            return None
        if not chunk:
            return None
        data += chunk
    return data


def first_address(bootstrap: str) -> tuple[str, int] | None:
    """host and port of the first bootstrap server ("[::1]:9092" and "h:9092" both parse)."""
    first = bootstrap.split(",", maxsplit=1)[0].strip()
    if "://" in first:
        first = first.split("://", 1)[1]
    host, sep, port = first.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "localhost", int(port)
