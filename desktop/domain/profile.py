"""Connection profiles: how to reach one cluster (secrets live in the keyring, not here)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"

    @property
    def uses_sasl(self) -> bool:
        return self in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)

    @property
    def uses_tls(self) -> bool:
        return self in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)


class SaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


PKCS12_SUFFIXES = (".p12", ".pfx")


@dataclass(frozen=True)
class Credentials:
    """Secrets for one profile, held in memory only."""

    password: str = ""
    key_password: str = ""


@dataclass(frozen=True)
class ClusterProfile:
    name: str
    bootstrap: str
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512
    username: str = ""
    ca_location: str = ""
    cert_location: str = ""
    key_location: str = ""
    verify_hostname: bool = True
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    local: bool = False

    def needs_password(self, creds: Credentials) -> bool:
        """SASL without a password: librdkafka would refuse the settings (_INVALID_ARG)."""
        return self.security_protocol.uses_sasl and not creds.password

    @property
    def cert_is_pkcs12(self) -> bool:
        return self.cert_location.lower().endswith(PKCS12_SUFFIXES)

    def renamed(self, name: str) -> ClusterProfile:
        return replace(self, name=name)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bootstrap": self.bootstrap,
            "security_protocol": self.security_protocol.value,
            "sasl_mechanism": self.sasl_mechanism.value,
            "username": self.username,
            "ca_location": self.ca_location,
            "cert_location": self.cert_location,
            "key_location": self.key_location,
            "verify_hostname": self.verify_hostname,
            "extra": {k: v for k, v in self.extra},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterProfile:
        extra = data.get("extra") or {}
        return cls(
            name=str(data["name"]),
            bootstrap=str(data["bootstrap"]),
            security_protocol=SecurityProtocol(data.get("security_protocol", "PLAINTEXT")),
            sasl_mechanism=SaslMechanism(data.get("sasl_mechanism", "SCRAM-SHA-512")),
            username=str(data.get("username", "")),
            ca_location=str(data.get("ca_location", "")),
            cert_location=str(data.get("cert_location", "")),
            key_location=str(data.get("key_location", "")),
            verify_hostname=bool(data.get("verify_hostname", True)),
            extra=tuple((str(k), str(v)) for k, v in dict(extra).items()),
        )


def parse_extra_properties(text: str) -> tuple[tuple[str, str], ...]:
    """Parse `key=value` lines (blank lines and # comments ignored)."""
    pairs: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"Expected key=value, got {line!r}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)
