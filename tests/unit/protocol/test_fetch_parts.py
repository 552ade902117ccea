"""Fetch responses in pieces: large record sets stay uncopied; the bytes equal the joined form."""

from __future__ import annotations

import pytest

from embedded_broker.protocol.codec import encode_body, response_head
from embedded_broker.protocol.fast import (
    FetchPartition,
    encode_fetch_response,
    encode_fetch_response_parts,
)


@pytest.mark.parametrize("version", [4, 11, 12])
def test_pieces_of_records_encode_as_the_joined_records(version: int) -> None:
    big = b"a" * 70_000
    pieces = [b"b" * 80_000, b"c" * 1_000]
    parts: list[FetchPartition] = [
        (0, 0, 10, 10, 0, big),
        (1, 0, 5, 5, 0, pieces),
        (2, 0, 3, 3, 0, b"small"),
        (3, 3, -1, -1, -1, None),
    ]
    joined: list[FetchPartition] = [
        (i, e, h, s, st, b"".join(r) if isinstance(r, list) else r) for i, e, h, s, st, r in parts
    ]
    encoded = encode_fetch_response_parts(version, 0, [("t", parts)])
    reference = encode_fetch_response(version, 0, [("t", joined)])
    assert b"".join(encoded.parts) == reference.body
    assert encoded.size == len(reference.body)
    assert any(part is big for part in encoded.parts)  # sent as read, not copied
    assert any(part is pieces[0] for part in encoded.parts)
    head = response_head(7, encoded.size, flexible_header=encoded.flexible_header)
    assert head + reference.body == encode_body(
        7, reference.body, flexible_header=reference.flexible_header
    )
