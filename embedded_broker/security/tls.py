"""TLS for SSL and SASL_SSL listeners: the server context from Kafka's ssl.* settings."""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from embedded_broker.config import ConfigError

Setting = Callable[[str], "str | None"]


@contextlib.contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    """A temporary 0600 file holding ``data`` (ssl loads keys only from files)."""
    fd, name = tempfile.mkstemp(prefix="topicscope-tls-", suffix=".pem")
    try:
        os.write(fd, data)
        os.close(fd)
        yield name
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {setting} {path}: {exc.strerror or exc}") from None


def _pkcs12(data: bytes, password: str | None, setting: str) -> tuple[bytes, bytes, list[bytes]]:
    """(key PEM, certificate PEM, extra certificates PEM) from a PKCS12 file."""
    try:
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
            pkcs12,
        )
    except ImportError:
        raise ConfigError(
            f"{setting} is PKCS12, which needs the 'cryptography' package; use PEM instead"
        ) from None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError as exc:
        raise ConfigError(f"Cannot open the PKCS12 file of {setting}: {exc}") from None
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()) if key else b""
    cert_pem = cert.public_bytes(Encoding.PEM) if cert else b""
    return key_pem, cert_pem, [c.public_bytes(Encoding.PEM) for c in extra]


def _load_keystore(ctx: ssl.SSLContext, get: Setting) -> None:
    key_password = get("ssl.key.password")
    chain, inline_key = get("ssl.keystore.certificate.chain"), get("ssl.keystore.key")
    location = get("ssl.keystore.location")
    try:
        if chain or inline_key:
            if not (chain and inline_key):
                raise ConfigError(
                    "ssl.keystore.certificate.chain and ssl.keystore.key go together: set both"
                )
            with _private_file(inline_key.encode() + b"\n" + chain.encode()) as name:
                ctx.load_cert_chain(name, password=key_password)
        elif location:
            if get("ssl.keystore.type") == "PKCS12":
                data = _read(location, "ssl.keystore.location")
                key, cert, extra = _pkcs12(data, get("ssl.keystore.password"), location)
                with _private_file(key + cert + b"".join(extra)) as name:
                    ctx.load_cert_chain(name)
            else:
                _read(location, "ssl.keystore.location")  # a readable message when missing
                ctx.load_cert_chain(location, password=key_password)
        else:
            raise ConfigError(
                "An SSL listener needs the server certificate: set ssl.keystore.location "
                "(a PEM file with the key and certificate chain, or PKCS12), or "
                "ssl.keystore.certificate.chain with ssl.keystore.key"
            )
    except ssl.SSLError as exc:
        raise ConfigError(
            f"Cannot load the server certificate and key: {exc.reason or exc}. Check the "
            "files and ssl.key.password."
        ) from None


def _load_truststore(ctx: ssl.SSLContext, get: Setting) -> bool:
    inline, location = get("ssl.truststore.certificates"), get("ssl.truststore.location")
    try:
        if inline:
            ctx.load_verify_locations(cadata=inline)
        elif location:
            data = _read(location, "ssl.truststore.location")
            if get("ssl.truststore.type") == "PKCS12":
                _, cert, extra = _pkcs12(data, get("ssl.truststore.password"), location)
                ctx.load_verify_locations(cadata=(cert + b"".join(extra)).decode())
            else:
                ctx.load_verify_locations(cadata=data.decode())
        else:
            return False
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"Cannot load the CA certificates of the truststore: {exc}") from None
    return True


def server_context(get: Setting, listener: str) -> ssl.SSLContext:
    """The server SSLContext of a listener; ConfigError says what is missing or wrong."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = [v.strip() for v in (get("ssl.enabled.protocols") or "TLSv1.2").split(",")]
    ctx.minimum_version = (
        ssl.TLSVersion.TLSv1_2 if "TLSv1.2" in versions else ssl.TLSVersion.TLSv1_3
    )
    ctx.maximum_version = (
        ssl.TLSVersion.TLSv1_3 if "TLSv1.3" in versions else ssl.TLSVersion.TLSv1_2
    )
    try:
        _load_keystore(ctx, get)
    except ConfigError as exc:
        raise ConfigError(f"Listener {listener}: {exc}") from None
    client_auth = get("ssl.client.auth") or "none"
    has_cas = _load_truststore(ctx, get)
    if client_auth != "none":
        if not has_cas:
            raise ConfigError(
                f"Listener {listener}: ssl.client.auth={client_auth} needs the CA certificates "
                "that sign client certificates in ssl.truststore.location"
            )
        ctx.verify_mode = ssl.CERT_REQUIRED if client_auth == "required" else ssl.CERT_OPTIONAL
    return ctx


def ssl_principal(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str:
    """Kafka's default SSL principal: User:<the client certificate's subject, RFC 2253>."""
    subject = peer_subject(ssl_object)
    return "User:ANONYMOUS" if subject is None else f"User:{subject}"


def peer_subject(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The client certificate's subject in RFC 2253 form (as Java's X500Principal.getName()
    gives it to Kafka's principal builder); None without a certificate."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    try:
        from cryptography import x509
    except ImportError:  # the stdlib's view of the subject, with RFC 2253's short names
        cert: dict[str, Any] = dict(ssl_object.getpeercert() or {})
        rdns = cert.get("subject", ())
        return ",".join(f"{_SHORT.get(k, k)}={v}" for rdn in reversed(rdns) for k, v in rdn)
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


_SHORT = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
}
