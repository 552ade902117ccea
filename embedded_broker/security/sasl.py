"""The SASL state of one connection (sans-IO): which requests it may send, and the exchange."""

from __future__ import annotations

import datetime
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.errors import ProtocolError

from .scram import ScramCredential, ScramError, ScramServer

API_VERSIONS = 18
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36
SASL_KEYS = frozenset((SASL_HANDSHAKE, SASL_AUTHENTICATE))


class SaslStateError(ProtocolError):
    """A request Kafka would refuse at this point of the SASL exchange: close the connection."""


class AuthenticationError(Exception):
    """Authentication failed; ``args[0]`` is the message the client is told."""


class Mechanism(Protocol):
    complete: bool
    username: str | None

    def evaluate(self, token: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class SaslSettings:
    """What a SASL listener offers: mechanisms, PLAIN users, SCRAM lookup, session lifetime."""

    mechanisms: tuple[str, ...]
    plain_users: Mapping[str, str]
    scram_lookup: Callable[[str, str], ScramCredential | None]
    reauth_ms: int


class PlainServer:
    """SASL/PLAIN (RFC 4616) checked against the JAAS users, with Kafka's error messages."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = users
        self.complete = False
        self.username: str | None = None

    def evaluate(self, token: bytes) -> bytes:
        parts = token.split(b"\x00")
        if len(parts) != 3:
            raise ScramError(f"Invalid SASL/PLAIN response: expected 3 tokens, got {len(parts)}")
        authzid, user, password = (p.decode("utf-8", "replace") for p in parts)
        if not user:
            raise AuthenticationError("Authentication failed: username not specified")
        if not password:
            raise AuthenticationError("Authentication failed: password not specified")
        expected = self._users.get(user)
        if expected is None or expected != password:
            raise AuthenticationError("Authentication failed: Invalid username or password")
        if authzid and authzid != user:
            raise AuthenticationError(
                "Authentication failed: Client requested an authorization id that is different "
                "from username"
            )
        self.username = user
        self.complete = True
        return b""


class SaslSession:
    """Kafka's SaslServerAuthenticator in miniature, for one connection."""

    def __init__(self, settings: SaslSettings, listener: str) -> None:
        self._settings = settings
        self._listener = listener
        self._state = "handshake"  # handshake | raw | authenticate | done | failed
        self._mechanism_name = ""
        self._mechanism: Mechanism | None = None
        self._reauthenticating = False
        self._expires_at: float | None = None
        self.principal: str | None = None

    @property
    def authenticated(self) -> bool:
        return self._state == "done"

    @property
    def failed(self) -> bool:
        return self._state == "failed"

    @property
    def expects_raw_token(self) -> bool:
        """After SaslHandshake v0 the client sends bare length-prefixed SASL tokens."""
        return self._state == "raw"

    def admit(self, api_key: int, now: float) -> None:
        """Raise SaslStateError for a request Kafka would close the connection on."""
        state = self._state
        if state == "done":
            expired = self._expires_at is not None and now >= self._expires_at
            if expired and api_key not in (SASL_HANDSHAKE, API_VERSIONS):
                self._state = "failed"
                raise SaslStateError(
                    f"the SASL session on listener {self._listener} expired "
                    "(connections.max.reauth.ms) and the client did not re-authenticate"
                )
            return
        if state == "handshake" and api_key in (API_VERSIONS, SASL_HANDSHAKE):
            return
        if state == "authenticate" and api_key == SASL_AUTHENTICATE:
            return
        self._state = "failed"
        raise SaslStateError(
            f"unexpected request (API key {api_key}) before SASL authentication completed "
            f"on listener {self._listener}"
        )

    def handshake(self, request: Any, api_version: int) -> Any:
        from embedded_broker.handlers.util import build, response_module  # no import cycle

        mod = response_module(request)
        enabled = self._settings.mechanisms
        mechanism = str(request.mechanism)
        code = ErrorCode.none
        if mechanism not in enabled:
            code = ErrorCode.unsupported_sasl_mechanism
            self._state = "failed"
        elif self._state == "done":
            if api_version < 1 or mechanism != self._mechanism_name:
                code = ErrorCode.illegal_sasl_state
                self._state = "failed"
            else:
                self._reauthenticating = True
        if code == ErrorCode.none:
            self._mechanism_name = mechanism
            self._mechanism = self._new_mechanism(mechanism)
            self._state = "authenticate" if api_version >= 1 else "raw"
        return build(mod.SaslHandshakeResponse, error_code=code, mechanisms=enabled)

    def _new_mechanism(self, name: str) -> Mechanism:
        if name == "PLAIN":
            return PlainServer(self._settings.plain_users)
        return ScramServer(name, self._settings.scram_lookup)

    def _step(self, token: bytes, now: float) -> bytes:
        """One token through the mechanism; AuthenticationError carries the client's message."""
        mechanism = self._mechanism
        assert mechanism is not None
        during = "re-authentication" if self._reauthenticating else "authentication"
        try:
            reply = mechanism.evaluate(token)
        except AuthenticationError:
            self._state = "failed"
            raise
        except (ScramError, UnicodeDecodeError):
            self._state = "failed"
            raise AuthenticationError(
                f"Authentication failed during {during} due to invalid credentials with SASL "
                f"mechanism {self._mechanism_name}"
            ) from None
        if mechanism.complete:
            principal = f"User:{mechanism.username}"
            if self._reauthenticating and principal != self.principal:
                self._state = "failed"
                raise AuthenticationError(
                    f"Cannot change principals during re-authentication from {self.principal}: "
                    f"{principal}"
                )
            self.principal = principal
            self._state = "done"
            self._reauthenticating = False
            reauth_ms = self._settings.reauth_ms
            self._expires_at = now + reauth_ms / 1000 if reauth_ms > 0 else None
        return reply

    def authenticate(self, request: Any, now: float) -> Any:
        from embedded_broker.handlers.util import build, response_module  # no import cycle

        mod = response_module(request)
        if self._state != "authenticate":  # authenticated already, and no new handshake
            return build(
                mod.SaslAuthenticateResponse,
                error_code=ErrorCode.illegal_sasl_state,
                error_message="SaslAuthenticate request received after successful authentication",
                auth_bytes=b"",
                session_lifetime=datetime.timedelta(0),
            )
        try:
            reply = self._step(bytes(request.auth_bytes), now)
        except AuthenticationError as exc:
            return build(
                mod.SaslAuthenticateResponse,
                error_code=ErrorCode.sasl_authentication_failed,
                error_message=str(exc),
                auth_bytes=b"",
                session_lifetime=datetime.timedelta(0),
            )
        lifetime = self._settings.reauth_ms if self._state == "done" else 0
        return build(
            mod.SaslAuthenticateResponse,
            error_code=ErrorCode.none,
            error_message=None,
            auth_bytes=reply,
            session_lifetime=datetime.timedelta(milliseconds=lifetime),
        )

    def raw_token(self, token: bytes, now: float) -> bytes:
        """A bare SASL token (after SaslHandshake v0): the framed reply; failure closes."""
        try:
            reply = self._step(token, now)
        except AuthenticationError as exc:
            raise SaslStateError(f"SASL authentication failed: {exc}") from None
        return struct.pack(">i", len(reply)) + reply
