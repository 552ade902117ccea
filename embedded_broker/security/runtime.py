"""The broker's security set-up: listeners, their TLS contexts and SASL settings, SCRAM users."""

from __future__ import annotations

import functools
import logging
import re
import ssl
from collections.abc import Sequence
from pathlib import Path

from embedded_broker.config import BrokerConfig, ConfigError

from .authorizer import AUTHORIZER_KEY, Authorizer
from .credentials import EXTENSION_KEY, ScramCredentialStore
from .jaas import plain_users
from .listeners import ADVERTISED_KEY, Listener, ListenerSettings, parse_listeners
from .principal_mapping import KEY as MAPPING_KEY
from .principal_mapping import NoMatchingRuleError, PrincipalMapper
from .sasl import SaslSession, SaslSettings
from .scram import MAX_ITERATIONS, MECHANISM_CODES, MIN_ITERATIONS, make_credential
from .tls import peer_subject, server_context

log = logging.getLogger(__name__)

SECURITY_KEY = "security"  # BrokerState.extensions key of the broker's Security
_SCRAM_ARG = re.compile(r"^(SCRAM-SHA-256|SCRAM-SHA-512)=\[(.*)\]$")


def parse_scram_user(text: str) -> tuple[str, str, str, int]:
    """'SCRAM-SHA-512=[name=alice,password=secret(,iterations=8192)]' -> (mech, name, pw, it),
    as Kafka's `kafka-storage format --add-scram` takes it."""
    match = _SCRAM_ARG.match(text.strip())
    if match is None:
        raise ConfigError(
            f"Invalid SCRAM user {text!r}: expected "
            "SCRAM-SHA-512=[name=NAME,password=PASSWORD] (or SCRAM-SHA-256, with an optional "
            "iterations=N)"
        )
    fields: dict[str, str] = {}
    for item in match.group(2).split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"Invalid SCRAM user {text!r}: {item!r} is not KEY=VALUE")
        fields[key.strip()] = value.strip().strip('"')
    name, password = fields.get("name", ""), fields.get("password", "")
    if not name or not password:
        raise ConfigError(f"Invalid SCRAM user {match.group(1)}: name and password are required")
    try:
        iterations = int(fields.get("iterations", str(MIN_ITERATIONS)))
    except ValueError:
        raise ConfigError("Invalid SCRAM user: iterations must be a whole number") from None
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ConfigError(
            f"Invalid SCRAM user: iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}"
        )
    return match.group(1), name, password, iterations


class Security:
    """Built once at start from the settings; ConfigError says what is wrong."""

    def __init__(
        self,
        config: BrokerConfig,
        data_dir: Path | None,
        host: str,
        port: int,
        *,
        scram_users: Sequence[tuple[str, str, str, int]] = (),
    ) -> None:
        self.config = config
        self.listeners: ListenerSettings = parse_listeners(config, host, port)
        self.store = ScramCredentialStore(data_dir)
        self.authorizer = Authorizer.from_config(config, data_dir)
        self._ssl: dict[str, ssl.SSLContext] = {}
        self._sasl: dict[str, SaslSettings] = {}
        self._mappers: dict[str, PrincipalMapper] = {}
        for listener in self.listeners.listeners:
            if listener.uses_ssl:
                self._ssl[listener.name] = server_context(
                    functools.partial(self.setting, listener.name), listener.name
                )
            if listener.uses_ssl and not listener.uses_sasl:
                rules = self.setting(listener.name, MAPPING_KEY)
                self._mappers[listener.name] = PrincipalMapper.from_config(rules)
            if listener.uses_sasl:
                self._sasl[listener.name] = self._sasl_settings(listener)
        for mechanism, name, password, iterations in scram_users:
            self.store.put(name, mechanism, make_credential(mechanism, password, iterations))
        if scram_users:
            self.store.write(self.store.snapshot())

    def setting(self, listener: str, name: str) -> str | None:
        """A listener's value: listener.name.<listener>.<name> first, then <name>."""
        prefixed = f"listener.name.{listener.lower()}.{name}"
        if prefixed in self.config.static:
            return self.config.static[prefixed]
        return self.config.value(name)

    def _sasl_settings(self, listener: Listener) -> SaslSettings:
        mechanisms = tuple(
            m.strip() for m in (self.config.get_str("sasl.enabled.mechanisms") or "").split(",")
        )
        name = listener.name.lower()
        users: dict[str, str] = {}
        if "PLAIN" in mechanisms:
            key = f"listener.name.{name}.plain.sasl.jaas.config"
            jaas = self.config.static.get(key)
            if jaas is None:
                key, jaas = "sasl.jaas.config", self.config.get_str("sasl.jaas.config")
            if jaas is not None:
                users = plain_users(jaas, key)
        reauth = int(self.setting(listener.name, "connections.max.reauth.ms") or 0)
        return SaslSettings(
            mechanisms=tuple(m for m in mechanisms if m),
            plain_users=users,
            scram_lookup=self.store.get,
            reauth_ms=reauth,
        )

    def ssl_principal(self, listener: str, ssl_object: ssl.SSLObject) -> str | None:
        """The principal of a TLS client: its certificate's subject through the listener's
        ssl.principal.mapping.rules (None: no rule applies, and Kafka refuses the client).
        On SASL_SSL the principal comes from SASL; until then it is the plain subject."""
        subject = peer_subject(ssl_object)
        if subject is None:
            return "User:ANONYMOUS"
        mapper = self._mappers.get(listener)
        if mapper is None:
            return f"User:{subject}"
        try:
            return f"User:{mapper.name(subject)}"
        except NoMatchingRuleError:
            log.warning(
                "Refusing a client on listener %s: no %s rule applies to its certificate "
                "subject %s",
                listener,
                MAPPING_KEY,
                subject,
            )
            return None

    def ssl_context(self, listener: str) -> ssl.SSLContext | None:
        return self._ssl.get(listener)

    def session(self, listener: str) -> SaslSession | None:
        """A fresh SASL session for a connection on a SASL listener; None on the others."""
        settings = self._sasl.get(listener)
        return None if settings is None else SaslSession(settings, listener)

    def advertised(self, listener: str) -> tuple[str, int] | None:
        return self.listeners.advertised.get(listener)

    def authenticated(self, listener: Listener) -> bool:
        """Whether a client must prove who it is on this listener (SASL, or required certs)."""
        if listener.uses_sasl:
            return True
        return listener.uses_ssl and self.setting(listener.name, "ssl.client.auth") == "required"

    def install(self, extensions: dict[str, object]) -> None:
        extensions[SECURITY_KEY] = self
        extensions[EXTENSION_KEY] = self.store
        if self.authorizer is not None:
            extensions[AUTHORIZER_KEY] = self.authorizer
        extensions[ADVERTISED_KEY] = dict(self.listeners.advertised)


__all__ = ["MECHANISM_CODES", "SECURITY_KEY", "Security", "parse_scram_user"]
