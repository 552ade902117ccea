"""kio requests in kafka-python's clothes: the bytes are a request the broker decodes, answers
decode back, and settings kafka-python cannot carry are refused in words."""

from __future__ import annotations

import datetime
import io

import pytest
from kio.schema.consumer_group_describe.v1.request import ConsumerGroupDescribeRequest
from kio.schema.errors import ErrorCode
from kio.schema.list_groups.v0.request import ListGroupsRequest
from kio.schema.share_group_describe.v1.request import ShareGroupDescribeRequest
from kio.schema.share_group_describe.v1.response import DescribedGroup, ShareGroupDescribeResponse
from kio.schema.types import GroupId

from desktop.domain.profile import ClusterProfile, Credentials, SecurityProtocol
from desktop.services.kio_wire import (
    KioRequest,
    WireHolder,
    WireUnavailableError,
    pick_version,
)
from embedded_broker.protocol.codec import decode_request, encode_response


@pytest.mark.parametrize(
    "body",
    [
        # flexible: request header v2
        ConsumerGroupDescribeRequest(
            group_ids=(GroupId("g"),), include_authorized_operations=False
        ),
        ListGroupsRequest(),  # not flexible: request header v1
    ],
)
def test_the_broker_decodes_what_kio_request_encodes(body: object) -> None:
    request = KioRequest(body)
    request.with_header(correlation_id=7, client_id="topicscope-groups")
    frame = request.encode(framed=True, header=True)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    header, decoded = decode_request(frame[4:])
    assert (header.api_key, header.correlation_id, header.client_id) == (
        request.API_KEY,
        7,
        "topicscope-groups",
    )
    assert decoded == body


def test_an_answer_decodes_through_the_parser_hooks() -> None:
    answer = ShareGroupDescribeResponse(
        throttle_time=datetime.timedelta(0),  # type: ignore[arg-type]
        groups=(
            DescribedGroup(
                error_code=ErrorCode.none,
                group_id=GroupId("q"),
                group_state="Stable",
                group_epoch=4,  # type: ignore[arg-type]
                assignment_epoch=4,  # type: ignore[arg-type]
                assignor_name="simple",
                members=(),
            ),
        ),
    )
    request = KioRequest(
        ShareGroupDescribeRequest(group_ids=(GroupId("q"),), include_authorized_operations=False)
    )
    request.with_header(correlation_id=9, client_id="c")
    frame = io.BytesIO(encode_response(9, answer)[4:])
    assert request.header is not None
    kind = request.header.get_response_class()
    assert kind.parse_header(frame).correlation_id == 9
    got = kind.decode(frame)
    assert (got.groups[0].group_id, got.groups[0].group_epoch) == ("q", 4)


def test_versions_are_the_highest_both_sides_speak_or_a_reason() -> None:
    assert pick_version(69, (0, 1), range(0, 2)) == 1
    assert pick_version(90, (0, 0), range(0, 2)) == 0
    with pytest.raises(WireUnavailableError, match="does not offer API 77"):
        pick_version(77, None, range(1, 2))
    with pytest.raises(WireUnavailableError, match="versions 2 to 3"):
        pick_version(77, (2, 3), range(1, 2))


def test_a_pkcs12_certificate_is_refused_in_words_without_connecting() -> None:
    profile = ClusterProfile(
        "tls",
        "127.0.0.1:1",
        security_protocol=SecurityProtocol.SSL,
        cert_location="/tmp/client.p12",
    )
    holder = WireHolder(profile, Credentials(), 1.0)
    for _ in range(2):  # remembered: never retried
        with pytest.raises(WireUnavailableError, match="PKCS#12"):
            holder.get()
    assert holder.wire is None
