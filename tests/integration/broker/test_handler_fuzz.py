"""Well-formed random requests of every implemented API get an answer, never a dropped connection.

A handler exception closes the connection, so a close here means a handler bug.
"""

from __future__ import annotations

import dataclasses
import datetime
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.index import load_request_schema
from kio.static.primitive import Records

from embedded_broker.handlers import API_TABLE
from embedded_broker.protocol.codec import RequestHeader, encode_request
from tests.broker_fixtures import RunningBroker

from .clients import create_topic

st.register_type_strategy(Records, st.binary(max_size=200).map(Records))

# Consumer-group APIs belong to the coordinator's own tests.
GROUP_APIS = {8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47}
APIS = sorted(
    (key, version)
    for key, spec in API_TABLE.items()
    if key not in GROUP_APIS
    for version in range(spec.min_version, spec.max_version + 1)
)


def _tame(request: Any) -> Any:
    """Keep generated requests from asking for absurd work (millions of partitions, long waits)."""
    name = type(request).__name__
    if name == "CreateTopicsRequest":
        topics = tuple(
            dataclasses.replace(t, num_partitions=t.num_partitions % 4) for t in request.topics
        )
        return dataclasses.replace(request, topics=topics)
    if name == "CreatePartitionsRequest":
        topics = tuple(dataclasses.replace(t, count=t.count % 4) for t in request.topics)
        return dataclasses.replace(request, topics=topics)
    if name == "FetchRequest":
        return dataclasses.replace(request, max_wait=datetime.timedelta(milliseconds=10))
    return request


@st.composite
def requests(draw: st.DrawFn) -> tuple[int, int, Any]:
    key, version = draw(st.sampled_from(APIS))
    request = draw(st.from_type(load_request_schema(key, version)))
    return key, version, _tame(request)


@pytest.fixture(scope="module")
def fuzz_broker() -> Iterator[RunningBroker]:
    broker = RunningBroker(None, {}, in_memory=True)
    try:
        create_topic(broker.bootstrap, "fuzz", partitions=2)
        yield broker
    finally:
        broker.stop()


def _exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise AssertionError("the broker closed the connection (a handler failed)")
        buf += chunk
    return buf


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=requests())
def test_every_request_gets_a_response(
    fuzz_broker: RunningBroker, generated: tuple[int, int, Any]
) -> None:
    key, version, request = generated
    try:
        frame = encode_request(RequestHeader(key, version, 4242, "fuzz"), request)
    except (struct.error, ValueError, OverflowError, TypeError):
        return  # not encodable (e.g. out-of-range values hypothesis produced); nothing to send
    with socket.create_connection(("127.0.0.1", fuzz_broker.port), timeout=60) as sock:
        sock.sendall(frame)
        if key == 0 and request.acks == 0:
            return
        size = struct.unpack(">i", _exact(sock, 4))[0]
        body = _exact(sock, size)
        assert struct.unpack(">i", body[:4])[0] == 4242
