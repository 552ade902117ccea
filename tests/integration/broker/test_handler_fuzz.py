"""Random requests of every implemented API, group APIs included: answered, never a handler bug.

A well-formed request always gets an answer (a handler exception would close the connection).
The same requests with one array made null are answered when the schema allows that null and
close only that connection, with one log line, when it does not. After each run the broker
still answers, and its log holds no traceback and no ERROR.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
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
from embedded_broker.protocol.codec import RequestHeader, decode_request, encode_request
from embedded_broker.protocol.errors import ProtocolError
from tests.broker_fixtures import RunningBroker
from tests.schema_frames import valid_frame

from .clients import create_topic

st.register_type_strategy(Records, st.binary(max_size=200).map(Records))

APIS = sorted(
    (key, version)
    for key, spec in API_TABLE.items()
    for version in range(spec.min_version, spec.max_version + 1)
)
GROUP_APIS = {8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47}
assert {key for key, _ in APIS} >= GROUP_APIS, "the group APIs are fuzzed too"
# Short group timeouts so a join or sync that waits for absent members ends within ~0.3 s.
FUZZ_CONFIG = {"group.min.session.timeout.ms": "10", "group.max.session.timeout.ms": "300"}


# kio writes the largest timedeltas rounded up to a millisecond count its own reader cannot turn
# back into a timedelta (8.64e16 ms is timedelta.max); no client sends such a duration.
LONGEST_DURATION = datetime.timedelta(days=365_000)


def _tame(request: Any) -> Any:
    """Keep generated requests from asking for absurd work (millions of partitions, long waits)."""
    name = type(request).__name__
    for field in dataclasses.fields(request):
        value = getattr(request, field.name)
        if isinstance(value, datetime.timedelta) and abs(value) > LONGEST_DURATION:
            request = dataclasses.replace(request, **{field.name: LONGEST_DURATION})
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
    if name == "JoinGroupRequest":
        # Some below the 10 ms minimum (INVALID_SESSION_TIMEOUT), most accepted.
        session = datetime.timedelta(milliseconds=request.session_timeout.total_seconds() % 0.4)
        request = dataclasses.replace(request, session_timeout=session)
        if hasattr(request, "rebalance_timeout"):
            rebalance = request.rebalance_timeout.total_seconds() % 0.3
            request = dataclasses.replace(
                request, rebalance_timeout=datetime.timedelta(seconds=rebalance)
            )
    return request


def _array_paths(entity: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Paths to every array field, nested ones included (through element indexes)."""
    paths: list[tuple[str | int, ...]] = []
    for field in dataclasses.fields(entity):
        value = getattr(entity, field.name)
        if isinstance(value, tuple):
            paths.append((*prefix, field.name))
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    paths.extend(_array_paths(item, (*prefix, field.name, i)))
        elif dataclasses.is_dataclass(value):
            paths.extend(_array_paths(value, (*prefix, field.name)))
    return paths


def _with_null(entity: Any, path: tuple[str | int, ...]) -> Any:
    name = str(path[0])
    if len(path) == 1:
        return dataclasses.replace(entity, **{name: None})
    value = getattr(entity, name)
    if isinstance(path[1], int):
        i = path[1]
        item = _with_null(value[i], path[2:])
        return dataclasses.replace(entity, **{name: (*value[:i], item, *value[i + 1 :])})
    return dataclasses.replace(entity, **{name: _with_null(value, path[1:])})


@st.composite
def requests(draw: st.DrawFn) -> tuple[int, int, Any]:
    key, version = draw(st.sampled_from(APIS))
    request = draw(st.from_type(load_request_schema(key, version)))
    return key, version, _tame(request)


@st.composite
def requests_with_a_null_array(draw: st.DrawFn) -> tuple[int, int, Any]:
    key, version, request = draw(requests())
    paths = _array_paths(request)
    if paths:
        request = _with_null(request, draw(st.sampled_from(paths)))
    return key, version, request


@pytest.fixture(scope="module")
def fuzz_broker() -> Iterator[RunningBroker]:
    broker = RunningBroker(None, FUZZ_CONFIG, in_memory=True)
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


def _frame(generated: tuple[int, int, Any]) -> bytes | None:
    key, version, request = generated
    try:
        return encode_request(RequestHeader(key, version, 4242, "fuzz"), request)
    except (struct.error, ValueError, OverflowError, TypeError, AttributeError):
        return None  # not encodable (e.g. out-of-range values hypothesis produced)


def _send(port: int, generated: tuple[int, int, Any], frame: bytes) -> bool:
    """Send one request on its own connection; True if answered, False if the broker closed."""
    key, _, request = generated
    expected = 4242
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        try:
            sock.sendall(frame)
            if key == 0 and getattr(request, "acks", None) == 0:
                # Produce with acks=0 gets no response: an ApiVersions behind it shows whether
                # the connection is still open.
                sock.sendall(valid_frame(18, 3))
                expected = 7
            size = struct.unpack(">i", _exact(sock, 4))[0]
        except (AssertionError, BrokenPipeError, ConnectionResetError):
            return False
        body = _exact(sock, size)
        assert struct.unpack(">i", body[:4])[0] == expected
        return True


def _assert_healthy(broker: RunningBroker, caplog: pytest.LogCaptureFixture) -> None:
    """The broker answers a well-formed request and logged no traceback and no ERROR."""
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
        for key in (18, 3):  # ApiVersions, Metadata
            sock.sendall(valid_frame(key, API_TABLE[key].max_version))
            size = struct.unpack(">i", _exact(sock, 4))[0]
            assert struct.unpack(">i", _exact(sock, size)[:4])[0] == 7
    # the broker's own records: earlier tests' app threads may still log in this process
    records = [r for r in caplog.records if r.name.startswith("embedded_broker")]
    bad = [r for r in records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]
    assert not any("Traceback" in r.getMessage() for r in records)


FUZZ_SETTINGS = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_every_request_gets_a_response(
    fuzz_broker: RunningBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    @FUZZ_SETTINGS
    @given(generated=requests())
    def run(generated: tuple[int, int, Any]) -> None:
        frame = _frame(generated)
        if frame is not None:
            key, version, _ = generated
            assert _send(fuzz_broker.port, generated, frame), f"API {key} v{version}: closed"

    run()
    _assert_healthy(fuzz_broker, caplog)


def test_null_arrays_are_answered_or_rejected_without_a_handler_failure(
    fuzz_broker: RunningBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    @FUZZ_SETTINGS
    @given(generated=requests_with_a_null_array())
    def run(generated: tuple[int, int, Any]) -> None:
        frame = _frame(generated)
        if frame is None:
            return
        try:
            decode_request(frame[4:])
            allowed = True
        except ProtocolError:
            allowed = False  # a null the schema forbids: that connection is closed
        key, version, _ = generated
        assert _send(fuzz_broker.port, generated, frame) is allowed, f"API {key} v{version}"

    run()
    _assert_healthy(fuzz_broker, caplog)
