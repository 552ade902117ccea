"""Hypothesis fuzzing of framing and decoding: only clean ProtocolErrors, in bounded memory.

Memory is measured with tracemalloc around each decode. The stated bound: a request costs at
most PEAK_FIXED plus PEAK_PER_BYTE bytes per request byte while it is decoded (the worst
well-formed request, arrays of one-character strings, measured 16 bytes per byte); a request
that is rejected, whatever lengths it claims, costs at most PEAK_FIXED.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedded_broker.handlers import API_TABLE
from embedded_broker.protocol.codec import api_schema, decode_request
from embedded_broker.protocol.errors import ProtocolError
from embedded_broker.protocol.framing import FrameDecoder
from tests.schema_frames import huge_length_frames, valid_frame

from .test_codec import API_VERSIONS_V3_REQUEST

SEED_FRAMES = [
    API_VERSIONS_V3_REQUEST[4:],
    # Metadata v12 for all topics, Produce v9-ish headers with short bodies.
    bytes.fromhex("0003000c0000002a0002696400000100") + b"\x00",
    bytes.fromhex("00000009000000010002696400") + b"\x00" * 20,
    bytes.fromhex("0001000c000000010002696400") + b"\xff" * 40,
]


PEAK_FIXED = 64 * 1024
PEAK_PER_BYTE = 32


def _decode_peak(frame: bytes) -> tuple[bool, int]:
    """Decode; return whether it decoded and the peak bytes allocated meanwhile."""
    tracemalloc.start()
    try:
        decode_request(frame)
        decoded = True
    except ProtocolError:
        decoded = False
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return decoded, peak


def _decode_or_protocol_error(frame: bytes) -> None:
    decoded, peak = _decode_peak(frame)
    bound = PEAK_FIXED + (PEAK_PER_BYTE * len(frame) if decoded else 0)
    assert peak <= bound, f"decoding {len(frame)} bytes took {peak} bytes (bound {bound})"


@pytest.fixture(autouse=True, scope="module")
def _warm_caches() -> None:
    """Schema plans and kio readers are built once per API version; not per request."""
    for api_key, spec in API_TABLE.items():
        for version in range(spec.min_version, spec.max_version + 1):
            decode_request(valid_frame(api_key, version)[4:])
    # every schema kio has (a mutated frame may name any API, served or not) and the misses:
    # the first import of a schema module is a one-time cost, not the cost of decoding
    for api_key in range(100):
        for version in range(20):
            with contextlib.suppress(ProtocolError):
                api_schema(api_key, version)


@pytest.mark.parametrize("api_key", sorted(API_TABLE))
def test_hostile_lengths_are_rejected_in_bounded_memory(api_key: int) -> None:
    spec = API_TABLE[api_key]
    for version in range(spec.min_version, spec.max_version + 1):
        for hostile in huge_length_frames(api_key, version):
            decoded, peak = _decode_peak(hostile.frame)
            where = f"{hostile.api_name} v{version} {hostile.field} in {len(hostile.frame)} bytes"
            assert not decoded, where
            assert peak <= PEAK_FIXED, f"{where}: {peak} bytes"


@pytest.mark.parametrize("api_key", sorted(API_TABLE))
def test_nested_arrays_decode_in_memory_proportional_to_the_request(api_key: int) -> None:
    """Every array (at every nesting level) holds n items, n doubling up to a 64 KiB+ request."""
    version = API_TABLE[api_key].max_version
    repeat = 1
    while len(frame := valid_frame(api_key, version, repeat)[4:]) < 64 * 1024 and repeat < 2**16:
        repeat *= 2
    decoded, peak = _decode_peak(frame)
    assert decoded
    assert peak <= PEAK_FIXED + PEAK_PER_BYTE * len(frame), (len(frame), peak)


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
    spec = API_TABLE[api_key]
    for version in range(spec.min_version, spec.max_version + 1):
        api_schema(api_key, version)


RSS_SCRIPT = """
import contextlib, resource, sys
from embedded_broker.handlers import API_TABLE
from embedded_broker.protocol.codec import decode_request
from embedded_broker.protocol.errors import ProtocolError
from tests.schema_frames import huge_length_frames, valid_frame
versions = [(k, v) for k, s in API_TABLE.items() for v in range(s.min_version, s.max_version + 1)]
frames = [f.frame for k, v in versions for f in huge_length_frames(k, v)]
for k, v in versions:
    decode_request(valid_frame(k, v)[4:])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for frame in frames:
    with contextlib.suppress(ProtocolError):
        decode_request(frame)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(len(frames), grown // 1024 if sys.platform == "darwin" else grown)  # KiB
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the resource module is POSIX only")
def test_hostile_lengths_do_not_grow_the_process() -> None:
    """tracemalloc does not see the native reader's buffers; the process high-water mark does."""
    result = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    count, grown_kib = map(int, result.stdout.split())
    assert count > 500
    assert grown_kib <= 16 * 1024, f"{count} hostile frames grew the process by {grown_kib} KiB"
