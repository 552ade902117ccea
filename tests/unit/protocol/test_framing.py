"""FrameDecoder: split, partial and oversized input, without sockets."""

from __future__ import annotations

import struct

import pytest

from embedded_broker.protocol.errors import FrameTooLargeError
from embedded_broker.protocol.framing import FrameDecoder, frame


def test_whole_frames_come_out_in_order() -> None:
    dec = FrameDecoder()
    dec.feed(frame(b"one") + frame(b"") + frame(b"three"))
    assert dec.frames() == [b"one", b"", b"three"]
    assert dec.next_frame() is None
    assert dec.buffered == 0


def test_byte_by_byte_input_needs_more_until_complete() -> None:
    data = frame(b"hello world") + frame(b"second")
    dec = FrameDecoder()
    out = []
    for i in range(len(data)):
        dec.feed(data[i : i + 1])
        out.extend(dec.frames())
        if i < 14:
            assert out == []
    assert out == [b"hello world", b"second"]


def test_split_size_prefix_and_body() -> None:
    data = frame(b"x" * 100)
    dec = FrameDecoder()
    dec.feed(data[:2])
    assert dec.next_frame() is None
    dec.feed(data[2:50])
    assert dec.next_frame() is None
    dec.feed(data[50:])
    assert dec.next_frame() == b"x" * 100


@pytest.mark.parametrize("size", [-1, -(2**31), 101])
def test_sizes_outside_limit_are_protocol_errors(size: int) -> None:
    dec = FrameDecoder(max_frame_bytes=100)
    dec.feed(struct.pack(">i", size))
    with pytest.raises(FrameTooLargeError):
        dec.next_frame()


def test_default_limit_is_socket_request_max_bytes() -> None:
    dec = FrameDecoder()
    dec.feed(struct.pack(">i", 104_857_601))
    with pytest.raises(FrameTooLargeError):
        dec.next_frame()
    ok = FrameDecoder()
    ok.feed(struct.pack(">i", 104_857_600))
    assert ok.next_frame() is None  # legal size, waiting for the body
