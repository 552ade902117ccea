"""Request/response codec: golden bytes for ApiVersions, header versions, error paths."""

from __future__ import annotations

import datetime

import pytest
from kio.schema.api_versions.v0 import request as req_v0
from kio.schema.api_versions.v0 import response as resp_v0
from kio.schema.api_versions.v3 import request as req_v3
from kio.schema.api_versions.v3 import response as resp_v3
from kio.schema.errors import ErrorCode
from kio.schema.metadata.v12 import request as md_v12

from embedded_broker.protocol.codec import (
    RequestHeader,
    decode_request,
    encode_request,
    encode_response,
    peek_header,
)
from embedded_broker.protocol.errors import ProtocolError, UnsupportedApiError

API_VERSIONS_V0_REQUEST = bytes.fromhex("0000000b0012000000000007000163")
API_VERSIONS_V3_REQUEST = bytes.fromhex("000000110012000300000007000163000274023100")
API_VERSIONS_V0_RESPONSE = bytes.fromhex("0000001000000007000000000001001200000004")
# v3 body is flexible but the response header stays v0 (no tagged-field byte after the id).
API_VERSIONS_V3_RESPONSE = bytes.fromhex("0000001300000007000002001200000004000000000000")


def test_api_versions_v0_request_golden() -> None:
    assert encode_request(RequestHeader(18, 0, 7, "c"), req_v0.ApiVersionsRequest()) == (
        API_VERSIONS_V0_REQUEST
    )
    header, request = decode_request(API_VERSIONS_V0_REQUEST[4:])
    assert header == RequestHeader(18, 0, 7, "c")
    assert request == req_v0.ApiVersionsRequest()


def test_api_versions_v3_request_golden() -> None:
    request = req_v3.ApiVersionsRequest(client_software_name="t", client_software_version="1")
    assert encode_request(RequestHeader(18, 3, 7, "c"), request) == API_VERSIONS_V3_REQUEST
    header, decoded = decode_request(API_VERSIONS_V3_REQUEST[4:])
    assert header.api_version == 3 and header.correlation_id == 7
    assert decoded == request


def test_api_versions_v0_response_golden() -> None:
    response = resp_v0.ApiVersionsResponse(
        error_code=ErrorCode.none,
        api_keys=(resp_v0.ApiVersion(api_key=18, min_version=0, max_version=4),),  # type: ignore[arg-type]
    )
    assert encode_response(7, response) == API_VERSIONS_V0_RESPONSE


def test_api_versions_v3_response_golden_uses_header_v0() -> None:
    response = resp_v3.ApiVersionsResponse(
        error_code=ErrorCode.none,
        api_keys=(resp_v3.ApiVersion(api_key=18, min_version=0, max_version=4),),  # type: ignore[arg-type]
        throttle_time=datetime.timedelta(0),  # type: ignore[arg-type]
    )
    assert encode_response(7, response) == API_VERSIONS_V3_RESPONSE


def test_flexible_request_header_tagged_fields_are_skipped() -> None:
    # Metadata v12, header v2 with one tagged field (tag 5, 2 bytes) before the body.
    body = bytes.fromhex("00" + "01" + "00" + "00")  # topics=null, allow=true, include=false
    frame = (
        bytes.fromhex("0003000c0000002a")
        + b"\x00\x02id"
        + bytes.fromhex("01" + "05" + "02" + "abcd")
        + body
    )
    header, request = decode_request(frame)
    assert header == RequestHeader(3, 12, 42, "id")
    assert request == md_v12.MetadataRequest(
        topics=None, allow_auto_topic_creation=True, include_topic_authorized_operations=False
    )


def test_null_client_id() -> None:
    frame = bytes.fromhex("0012000000000001ffff")
    assert peek_header(frame).client_id is None


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00\x12",
        bytes.fromhex("0012000000000001"),  # no client id length
        bytes.fromhex("00120000000000010005ab"),  # client id shorter than declared
        bytes.fromhex("0012000000000001fffe"),  # client id length -2
    ],
)
def test_truncated_headers_are_protocol_errors(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_request(frame)


def test_unknown_api_key_is_unsupported() -> None:
    with pytest.raises(UnsupportedApiError):
        decode_request(bytes.fromhex("7fff000000000001ffff"))


def test_truncated_body_is_protocol_error() -> None:
    frame = API_VERSIONS_V3_REQUEST[4:-3]
    with pytest.raises(ProtocolError):
        decode_request(frame)


@pytest.mark.parametrize(
    "frame_hex",
    [
        "0003000c00000001ffff00ffffffff0f",  # Metadata v12: compact array of 4 billion topics
        "0003000c00000001ffff00ffffff7f",  # 268 million topics
        "0003000000000001ffff7fffffff",  # Metadata v0: legacy array of 2^31-1 topics
        "0001000c00000001ffff00" + "00" * 20 + "ffffffff0f",  # Fetch v12 with a huge array
    ],
)
def test_hostile_array_lengths_are_protocol_errors(frame_hex: str) -> None:
    # kio reserves memory for the declared count; the guard must reject these first.
    with pytest.raises(ProtocolError):
        decode_request(bytes.fromhex(frame_hex))
