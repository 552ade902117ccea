"""SCRAM server against RFC 7677's worked example and against its own client."""

from __future__ import annotations

import base64

import pytest

from embedded_broker.security.scram import (
    ScramClient,
    ScramCredential,
    ScramError,
    ScramServer,
    credential_from_salted,
    make_credential,
    salted_password,
)


def test_rfc7677_example_exchange() -> None:
    """RFC 7677 section 3: user 'user', password 'pencil', 4096 iterations."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    mechanism = "SCRAM-SHA-256"
    credential = credential_from_salted(
        mechanism, salted_password(mechanism, "pencil", salt, 4096), salt, 4096
    )
    server = ScramServer(mechanism, lambda user, mech: credential if user == "user" else None)
    # the server nonce is random; fix it to the RFC's to replay the exchange byte for byte
    server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    client_nonce = "rOprNGfwEbeRWgbNEkqO"
    first = server.evaluate(f"n,,n=user,r={client_nonce}".encode())
    assert first.startswith(f"r={client_nonce}".encode())
    server._nonce = client_nonce + server_nonce
    server._server_first = f"r={client_nonce + server_nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    final = server.evaluate(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert final == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert server.complete and server.username == "user"


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_right_and_wrong_password(mechanism: str) -> None:
    credential = make_credential(mechanism, "secret", 4096)
    lookup = {("a,b=c", mechanism): credential}

    def find(user: str, mech: str) -> ScramCredential | None:
        return lookup.get((user, mech))

    client, server = ScramClient(mechanism, "a,b=c", "secret"), ScramServer(mechanism, find)
    assert client.verify(server.evaluate(client.final(server.evaluate(client.first()))))
    assert server.username == "a,b=c"  # =2C and =3D escapes undone

    wrong, server = ScramClient(mechanism, "a,b=c", "nope"), ScramServer(mechanism, find)
    with pytest.raises(ScramError):
        server.evaluate(wrong.final(server.evaluate(wrong.first())))
    assert not server.complete


def test_unknown_user_and_malformed_messages_fail() -> None:
    server = ScramServer("SCRAM-SHA-512", lambda user, mech: None)
    with pytest.raises(ScramError):
        server.evaluate(b"n,,n=ghost,r=abc")
    for bad in (b"", b"x,,n=a,r=b", b"n,,r=b", b"n,,n=a=41,r=b", b"\xff"):
        with pytest.raises(ScramError):
            ScramServer("SCRAM-SHA-512", lambda user, mech: None).evaluate(bad)


def test_stored_credential_has_no_password() -> None:
    credential = make_credential("SCRAM-SHA-512", "hunter2", 8192)
    assert credential.iterations == 8192 and len(credential.salt) >= 16
    assert b"hunter2" not in credential.stored_key + credential.server_key + credential.salt
