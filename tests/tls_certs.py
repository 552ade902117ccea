"""Test certificates made on the spot (with the cryptography package): a CA, a server certificate
for 127.0.0.1/localhost, a client certificate, and an unrelated CA (for "wrong CA" tests)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KEY_PASSWORD = "key-secret"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Topicscope Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    hosts: tuple[str, ...] = (),
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer is not None else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class Certs:
    ca: Path  # the CA certificate (PEM)
    other_ca: Path  # an unrelated CA
    server: Path  # server key (encrypted with KEY_PASSWORD) + certificate chain, one PEM
    server_cert: Path
    server_key: Path  # unencrypted
    wrong_host_server: Path  # a server certificate for another host name, same CA
    client_cert: Path  # CN=client
    client_key: Path
    other_client_cert: Path  # signed by the unrelated CA
    other_client_key: Path


def make_certs(where: Path) -> Certs:
    where.mkdir(parents=True, exist_ok=True)
    ca_key, other_key = _key(), _key()
    ca = _issue("Test CA", ca_key, None, ca_key, ca=True)
    other_ca = _issue("Other CA", other_key, None, other_key, ca=True)
    server_key = _key()
    server = _issue("127.0.0.1", server_key, ca, ca_key, hosts=("127.0.0.1", "localhost"))
    wrong_key = _key()
    wrong = _issue("elsewhere.example", wrong_key, ca, ca_key, hosts=("elsewhere.example",))
    client_key, other_client_key = _key(), _key()
    client = _issue("client", client_key, ca, ca_key)
    other_client = _issue("intruder", other_client_key, other_ca, other_key)

    def write(name: str, data: bytes) -> Path:
        path = where / name
        path.write_bytes(data)
        return path

    return Certs(
        ca=write("ca.pem", _pem(ca)),
        other_ca=write("other-ca.pem", _pem(other_ca)),
        server=write("server.pem", _pem_key(server_key, KEY_PASSWORD) + _pem(server) + _pem(ca)),
        server_cert=write("server-cert.pem", _pem(server) + _pem(ca)),
        server_key=write("server-key.pem", _pem_key(server_key)),
        wrong_host_server=write("wrong-host.pem", _pem_key(wrong_key) + _pem(wrong) + _pem(ca)),
        client_cert=write("client-cert.pem", _pem(client)),
        client_key=write("client-key.pem", _pem_key(client_key)),
        other_client_cert=write("other-client-cert.pem", _pem(other_client)),
        other_client_key=write("other-client-key.pem", _pem_key(other_client_key)),
    )
