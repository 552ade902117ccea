"""Hypothesis fuzzing of framing and decoding: only clean ProtocolErrors, never a hang."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedded_broker.handlers import API_TABLE
from embedded_broker.protocol.codec import decode_request
from embedded_broker.protocol.errors import ProtocolError
from embedded_broker.protocol.framing import FrameDecoder

from .test_codec import API_VERSIONS_V3_REQUEST

SEED_FRAMES = [
    API_VERSIONS_V3_REQUEST[4:],
    # Metadata v12 for all topics, Produce v9-ish headers with short bodies.
    bytes.fromhex("0003000c0000002a0002696400000100") + b"\x00",
    bytes.fromhex("00000009000000010002696400") + b"\x00" * 20,
    bytes.fromhex("0001000c000000010002696400") + b"\xff" * 40,
]


def _decode_or_protocol_error(frame: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_request(frame)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_frames_decode_or_raise_protocol_error(frame: bytes) -> None:
    _decode_or_protocol_error(frame)


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(sorted(API_TABLE)),
    st.integers(min_value=0, max_value=13),
    st.binary(max_size=200),
)
def test_valid_headers_with_random_bodies(api_key: int, version: int, body: bytes) -> None:
    frame = api_key.to_bytes(2, "big") + version.to_bytes(2, "big") + b"\x00\x00\x00\x01\xff\xff"
    _decode_or_protocol_error(frame + body)
    _decode_or_protocol_error(frame + b"\x00" + body)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(SEED_FRAMES),
    st.lists(st.tuples(st.integers(min_value=0, max_value=400), st.integers(0, 255)), max_size=8),
    st.integers(min_value=0, max_value=400),
)
def test_mutated_frames(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    frame = bytearray(seed)
    for pos, value in flips:
        if frame:
            frame[pos % len(frame)] = value
    _decode_or_protocol_error(bytes(frame[: max(cut, 0)] if cut < len(frame) else frame))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_framer_on_random_chunks_never_buffers_beyond_limit(chunks: list[bytes]) -> None:
    dec = FrameDecoder(max_frame_bytes=1024)
    try:
        for chunk in chunks:
            dec.feed(chunk)
            for frame in dec.frames():
                assert len(frame) <= 1024
                _decode_or_protocol_error(frame)
    except ProtocolError:
        return
    assert dec.buffered <= 1024 + 4 + 64 * 20


@pytest.mark.parametrize("api_key", sorted(API_TABLE))
def test_every_advertised_version_has_a_kio_schema(api_key: int) -> None:
    from embedded_broker.protocol.codec import api_schema

    spec = API_TABLE[api_key]
    for version in range(spec.min_version, spec.max_version + 1):
        api_schema(api_key, version)
