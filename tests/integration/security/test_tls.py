"""SSL listeners: encryption, client certificates (mTLS), a wrong CA and hostname verification."""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from embedded_broker.runner import BrokerRunner, BrokerStartError
from embedded_broker.security.tls import ssl_principal
from tests.integration.broker.raw import api_versions_frame, correlation_id, read_response
from tests.tls_certs import KEY_PASSWORD, Certs

from .conftest import bootstrap
from .sasl_checks import ClientConfig, produce_and_consume

TIMEOUT_S = 10.0


def ssl_config(runner: BrokerRunner, listener: str, ca: Path, **extra: str) -> ClientConfig:
    return {
        "bootstrap.servers": bootstrap(runner, listener),
        "security.protocol": "SSL",
        "ssl.ca.location": str(ca),
        "ssl.endpoint.identification.algorithm": "https",
        "socket.timeout.ms": 4000,
        **extra,
    }


def handshake(port: int, context: ssl.SSLContext, host: str = "127.0.0.1") -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    return context.wrap_socket(raw, server_hostname=host)


def served(port: int, context: ssl.SSLContext) -> bool:
    """Whether the listener answers an ApiVersions request over this TLS context."""
    try:
        with handshake(port, context) as sock:
            sock.sendall(api_versions_frame(1))
            return correlation_id(read_response(sock)) == 1
    except (ssl.SSLError, ConnectionError):
        return False


def client_context(certs: Certs, *, ca: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca or certs.ca))  # verifies the host name
    return context


def test_produce_and_consume_over_ssl(secure_broker: BrokerRunner, certs: Certs) -> None:
    produce_and_consume(ssl_config(secure_broker, "SSL", certs.ca))


def test_mtls_with_a_client_certificate(secure_broker: BrokerRunner, certs: Certs) -> None:
    config = ssl_config(
        secure_broker,
        "MTLS",
        certs.ca,
        **{
            "ssl.certificate.location": str(certs.client_cert),
            "ssl.key.location": str(certs.client_key),
        },
    )
    produce_and_consume(config)


def test_mtls_refuses_a_client_without_a_certificate(
    secure_broker: BrokerRunner, certs: Certs
) -> None:
    port = secure_broker.listeners["MTLS"].port
    assert not served(port, client_context(certs))
    with_cert = client_context(certs)
    with_cert.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    assert served(port, with_cert)


def test_mtls_refuses_a_certificate_from_another_ca(
    secure_broker: BrokerRunner, certs: Certs
) -> None:
    context = client_context(certs)
    context.load_cert_chain(str(certs.other_client_cert), str(certs.other_client_key))
    assert not served(secure_broker.listeners["MTLS"].port, context)


def test_client_with_the_wrong_ca_refuses_the_broker(
    secure_broker: BrokerRunner, certs: Certs
) -> None:
    port = secure_broker.listeners["SSL"].port
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(port, client_context(certs, ca=certs.other_ca))
    admin = AdminClient(ssl_config(secure_broker, "SSL", certs.other_ca))
    with pytest.raises(Exception, match=r"Failed to get metadata|transport|timed out"):
        admin.list_topics(timeout=3)


def test_hostname_verification_accepts_the_listener_address(
    secure_broker: BrokerRunner, certs: Certs
) -> None:
    port = secure_broker.listeners["SSL"].port
    with handshake(port, client_context(certs), host="127.0.0.1") as sock:
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
    with handshake(port, client_context(certs), host="localhost") as sock:
        assert sock.getpeercert() is not None


def test_hostname_verification_refuses_a_certificate_for_another_host(certs: Certs) -> None:
    runner = BrokerRunner(
        port=0,
        in_memory=True,
        config={
            "listeners": "SSL://127.0.0.1:0",
            "ssl.keystore.location": str(certs.wrong_host_server),
        },
    )
    runner.start()
    try:
        port = runner.listeners["SSL"].port
        with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|match"):
            handshake(port, client_context(certs))
    finally:
        runner.stop()


def test_inline_pem_keystore_and_principal_from_the_client_certificate(
    certs: Certs,
) -> None:
    runner = BrokerRunner(
        port=0,
        in_memory=True,
        config={
            "listeners": "SSL://127.0.0.1:0",
            "ssl.keystore.certificate.chain": certs.server_cert.read_text(),
            "ssl.keystore.key": certs.server_key.read_text(),
            "ssl.client.auth": "requested",
            "ssl.truststore.certificates": certs.ca.read_text(),
        },
    )
    runner.start()
    try:
        context = client_context(certs)
        context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
        with handshake(runner.listeners["SSL"].port, context) as sock:
            assert sock.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        runner.stop()
    # Kafka's principal for the certificate: its subject in RFC 2253 order
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    server.load_verify_locations(str(certs.ca))
    server.verify_mode = ssl.CERT_REQUIRED
    client = client_context(certs)
    client.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    a, b = socket.socketpair()
    with a, b:
        import threading

        out: list[str] = []

        def serve() -> None:
            with server.wrap_socket(a, server_side=True) as s:
                out.append(ssl_principal(s))

        thread = threading.Thread(target=serve)
        thread.start()
        with client.wrap_socket(b, server_hostname="127.0.0.1"):
            thread.join(TIMEOUT_S)
    assert out == ["User:CN=client,O=Topicscope Tests"]


def test_an_ssl_listener_without_a_certificate_does_not_start() -> None:
    runner = BrokerRunner(port=0, in_memory=True, config={"listeners": "SSL://127.0.0.1:0"})
    with pytest.raises(BrokerStartError, match=r"ssl\.keystore\.location"):
        runner.start()


def test_pkcs12_keystore(certs: Certs, tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = serialization.load_pem_private_key(certs.server_key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    cert, ca = x509.load_pem_x509_certificates(certs.server_cert.read_bytes())
    keystore = tmp_path / "server.p12"
    keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"server",
            key,
            cert,
            [ca],
            serialization.BestAvailableEncryption(b"store-secret"),
        )
    )
    runner = BrokerRunner(
        port=0,
        in_memory=True,
        config={
            "listeners": "SSL://127.0.0.1:0",
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(keystore),
            "ssl.keystore.password": "store-secret",
        },
    )
    runner.start()
    try:
        assert served(runner.listeners["SSL"].port, client_context(certs))
    finally:
        runner.stop()


def test_a_tls_client_closing_logs_no_asyncio_warning(
    certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    runner = BrokerRunner(
        port=0,
        in_memory=True,
        config={
            "listeners": "SSL://127.0.0.1:0",
            "ssl.keystore.location": str(certs.server),
            "ssl.key.password": KEY_PASSWORD,
        },
    )
    runner.start()
    caplog.set_level(logging.WARNING, logger="asyncio")
    try:
        port = runner.listeners["SSL"].port
        for _ in range(3):
            assert served(port, client_context(certs))
        # once the broker has seen the closes, a served request shows the loop moved on
        assert served(port, client_context(certs))
    finally:
        runner.stop()
    assert not [r for r in caplog.records if "eof_received" in r.getMessage()]
