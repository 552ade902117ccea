"""A null where the Kafka schema forbids it is a malformed request, named by API and field."""

from __future__ import annotations

import pytest

from embedded_broker.handlers import API_TABLE
from embedded_broker.protocol.codec import decode_request
from embedded_broker.protocol.errors import ProtocolError
from tests.schema_frames import null_frames, valid_frame


@pytest.mark.parametrize("api_key", sorted(API_TABLE))
def test_every_forbidden_null_is_a_protocol_error_naming_the_field(api_key: int) -> None:
    spec = API_TABLE[api_key]
    checked = 0
    for version in range(spec.min_version, spec.max_version + 1):
        decode_request(valid_frame(api_key, version)[4:])  # the same request without the null
        for frame in null_frames(api_key, version):
            with pytest.raises(ProtocolError) as caught:
                decode_request(frame.frame)
            message = str(caught.value)
            assert f"field {frame.field} is null" in message, message
            assert message.startswith(f"malformed {frame.api_name} v{version} request"), message
            checked += 1
    if api_key not in (22, 29, 60):  # no non-nullable string or array to null out
        assert checked, f"API key {api_key} has no forbidden null site"


def test_allowed_nulls_still_decode() -> None:
    # Metadata v12 topics is nullable (null = all topics); it must not be rejected.
    frame = bytes.fromhex("0003000c0000002a0002696400") + b"\x00" + b"\x00" + b"\x00\x00\x00"
    _, request = decode_request(frame)
    assert request.topics is None
