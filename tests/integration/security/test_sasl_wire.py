"""The SASL exchange on the wire: requests before authentication, v0 tokens, re-authentication."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kio.schema.metadata.v1 import request as md1
from kio.schema.metadata.v1 import response as md1_resp
from kio.schema.sasl_authenticate.v2 import request as auth2
from kio.schema.sasl_authenticate.v2 import response as auth2_resp
from kio.schema.sasl_handshake.v0 import request as hs0
from kio.schema.sasl_handshake.v1 import request as hs1
from kio.schema.sasl_handshake.v1 import response as hs1_resp
from kio.serial import entity_reader

from embedded_broker.protocol.codec import RequestHeader, encode_request
from embedded_broker.runner import BrokerRunner
from embedded_broker.security.scram import ScramClient
from tests.integration.broker.raw import (
    api_versions_frame,
    connect,
    correlation_id,
    read_response,
    recv_exact,
)

from .conftest import PLAIN_JAAS

REAUTH_MS = 1500
SASL_AUTHENTICATION_FAILED = 58
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    runner = BrokerRunner(
        port=0,
        data_dir=tmp_path_factory.mktemp("sasl-wire"),
        config={
            "listeners": "SASL_PLAINTEXT://127.0.0.1:0",
            "sasl.jaas.config": PLAIN_JAAS,
            "connections.max.reauth.ms": str(REAUTH_MS),
        },
        scram_users=[("SCRAM-SHA-512", "alice", "alice-secret", 4096)],
    )
    runner.start()
    yield runner
    runner.stop()


def _port(runner: BrokerRunner) -> int:
    return runner.listeners["SASL_PLAINTEXT"].port


def _send(sock: socket.socket, api_key: int, version: int, cid: int, request: Any) -> bytes:
    sock.sendall(encode_request(RequestHeader(api_key, version, cid, "wire-test"), request))
    return read_response(sock)


def handshake(sock: socket.socket, mechanism: str, cid: int = 1) -> Any:
    response = _send(sock, 17, 1, cid, hs1.SaslHandshakeRequest(mechanism=mechanism))
    return entity_reader(hs1_resp.SaslHandshakeResponse)(response, 4)[0]


def authenticate(sock: socket.socket, token: bytes, cid: int = 2) -> Any:
    response = _send(sock, 36, 2, cid, auth2.SaslAuthenticateRequest(auth_bytes=token))
    return entity_reader(auth2_resp.SaslAuthenticateResponse)(response, 5)[0]  # flexible header


def metadata(sock: socket.socket, cid: int) -> Any:
    response = _send(sock, 3, 1, cid, md1.MetadataRequest(topics=None))
    return entity_reader(md1_resp.MetadataResponse)(response, 4)[0]


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionError:
        return True


def plain_login(sock: socket.socket, user: str = "bob", password: str = "bob-secret") -> Any:
    assert handshake(sock, "PLAIN").error_code.value == 0
    return authenticate(sock, f"\0{user}\0{password}".encode())


def test_metadata_before_authentication_closes_the_connection(sasl_broker: BrokerRunner) -> None:
    with connect(_port(sasl_broker)) as sock:
        sock.sendall(api_versions_frame(7))  # ApiVersions is served before authentication
        assert correlation_id(read_response(sock)) == 7
        sock.sendall(encode_request(RequestHeader(3, 1, 8, "x"), md1.MetadataRequest(topics=None)))
        assert closed(sock), "the broker answered a request before authentication"


def test_a_request_between_handshake_and_authenticate_closes(sasl_broker: BrokerRunner) -> None:
    with connect(_port(sasl_broker)) as sock:
        assert handshake(sock, "PLAIN").error_code.value == 0
        sock.sendall(encode_request(RequestHeader(3, 1, 8, "x"), md1.MetadataRequest(topics=None)))
        assert closed(sock)


def test_unknown_mechanism_is_refused_with_the_enabled_list(sasl_broker: BrokerRunner) -> None:
    with connect(_port(sasl_broker)) as sock:
        reply = handshake(sock, "GSSAPI")
        assert reply.error_code.value == UNSUPPORTED_SASL_MECHANISM
        assert set(reply.mechanisms) == {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
        assert closed(sock)


def test_wrong_plain_password_gets_the_error_then_a_close(sasl_broker: BrokerRunner) -> None:
    with connect(_port(sasl_broker)) as sock:
        reply = plain_login(sock, password="nope")
        assert reply.error_code.value == SASL_AUTHENTICATION_FAILED
        assert reply.error_message == "Authentication failed: Invalid username or password"
        assert closed(sock)


def test_scram_exchange_with_session_lifetime(sasl_broker: BrokerRunner) -> None:
    with connect(_port(sasl_broker)) as sock:
        assert handshake(sock, "SCRAM-SHA-512").error_code.value == 0
        client = ScramClient("SCRAM-SHA-512", "alice", "alice-secret")
        first = authenticate(sock, client.first())
        assert first.error_code.value == 0
        final = authenticate(sock, client.final(first.auth_bytes), cid=3)
        assert final.error_code.value == 0
        assert client.verify(final.auth_bytes), "the server signature does not verify"
        assert final.session_lifetime.total_seconds() * 1000 == REAUTH_MS
        assert metadata(sock, 4).brokers


def test_handshake_v0_then_bare_tokens(sasl_broker: BrokerRunner) -> None:
    """Old clients (SaslHandshake v0) send the SCRAM messages as bare size-prefixed tokens."""
    with connect(_port(sasl_broker)) as sock:
        response = _send(sock, 17, 0, 1, hs0.SaslHandshakeRequest(mechanism="SCRAM-SHA-512"))
        assert response[4:6] == b"\x00\x00"
        client = ScramClient("SCRAM-SHA-512", "alice", "alice-secret")
        first = client.first()
        sock.sendall(len(first).to_bytes(4, "big") + first)
        server_first = recv_exact(sock, int.from_bytes(recv_exact(sock, 4), "big"))
        final = client.final(server_first)
        sock.sendall(len(final).to_bytes(4, "big") + final)
        server_final = recv_exact(sock, int.from_bytes(recv_exact(sock, 4), "big"))
        assert client.verify(server_final)
        assert metadata(sock, 2).brokers


def test_reauthentication_extends_the_session_and_expiry_closes(
    sasl_broker: BrokerRunner,
) -> None:
    with connect(_port(sasl_broker)) as sock:
        assert plain_login(sock).error_code.value == 0
        expires = time.monotonic() + REAUTH_MS / 1000
        assert metadata(sock, 3).brokers
        while time.monotonic() < expires + 0.1:  # the session lifetime has to pass
            time.sleep(0.05)
        # re-authenticating on the same connection is accepted and starts a new session
        assert handshake(sock, "PLAIN", cid=4).error_code.value == 0
        again = authenticate(sock, b"\0bob\0bob-secret", cid=5)
        assert again.error_code.value == 0
        expires = time.monotonic() + REAUTH_MS / 1000
        assert metadata(sock, 6).brokers
        while time.monotonic() < expires + 0.1:
            time.sleep(0.05)
        # no re-authentication this time: the next request closes the connection
        sock.sendall(encode_request(RequestHeader(3, 1, 7, "x"), md1.MetadataRequest(topics=None)))
        assert closed(sock)


def test_reauthentication_may_not_change_the_principal(sasl_broker: BrokerRunner) -> None:
    with connect(_port(sasl_broker)) as sock:
        assert plain_login(sock).error_code.value == 0
        assert handshake(sock, "PLAIN", cid=3).error_code.value == 0
        reply = authenticate(sock, b"\0admin\0admin-secret", cid=4)
        assert reply.error_code.value == SASL_AUTHENTICATION_FAILED
        assert "Cannot change principals during re-authentication" in str(reply.error_message)
        assert closed(sock)


def test_authenticate_again_without_a_handshake_is_an_illegal_state(
    sasl_broker: BrokerRunner,
) -> None:
    with connect(_port(sasl_broker)) as sock:
        assert plain_login(sock).error_code.value == 0
        reply = authenticate(sock, b"\0admin\0admin-secret", cid=3)
        assert reply.error_code.value == ILLEGAL_SASL_STATE
        assert metadata(sock, 4).brokers  # still bob's authenticated connection
