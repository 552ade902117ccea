"""The raw-socket probe's request bytes and its reading of first answers."""

from __future__ import annotations

import struct

from desktop.services.connection import mismatch
from desktop.services.probe import (
    ProbeResult,
    Verdict,
    api_versions_v0,
    classify,
    first_address,
)


def test_api_versions_v0_request_layout() -> None:
    req = api_versions_v0()
    size, key, version, corr, id_len = struct.unpack(">ihhih", req[:14])
    assert size == len(req) - 4
    assert (key, version) == (18, 0)
    assert req[14 : 14 + id_len].endswith(b"\r\n\r\n")
    assert len(req) == 14 + id_len
    assert corr > 0


def test_first_bytes_name_the_server() -> None:
    assert classify(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n")[0] == Verdict.HTTP
    assert "400 Bad Request" in classify(b"HTTP/1.1 400 Bad Request\r\n")[1]
    assert classify(b'<!DOCTYPE HTML>\n<html lang="en">')[0] == Verdict.HTTP
    assert classify(b"\x15\x03\x03\x00\x02\x02\x0a")[0] == Verdict.TLS
    assert classify(b"SSH-2.0-OpenSSH_9.6\r\n")[0] == Verdict.OTHER
    corr = struct.unpack(">ihhih", api_versions_v0()[:14])[3]
    assert classify(struct.pack(">ii", 300, corr) + b"\x00\x00")[0] == Verdict.KAFKA


def test_only_findings_the_profile_does_not_explain_count() -> None:
    tls = ProbeResult("h", 9093, Verdict.TLS)
    assert mismatch(tls, "SSL") is None
    assert "TLS port" in (mismatch(tls, "PLAINTEXT") or "")
    sasl = ProbeResult("h", 9094, Verdict.KAFKA_SASL)
    assert mismatch(sasl, "SASL_PLAINTEXT") is None
    assert "requires SASL" in (mismatch(sasl, "PLAINTEXT") or "")
    plain = ProbeResult("h", 9092, Verdict.KAFKA)
    assert "plaintext Kafka listener" in (mismatch(plain, "SSL") or "")
    assert mismatch(plain, "PLAINTEXT") is None
    assert mismatch(ProbeResult("h", 1, Verdict.SILENT), "PLAINTEXT") is None


def test_first_address() -> None:
    assert first_address("a:1,b:2") == ("a", 1)
    assert first_address("[::1]:9092") == ("::1", 9092)
    assert first_address("localhost") is None
