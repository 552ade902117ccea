"""SASL requests outside a SASL exchange, and SCRAM user management (Describe/AlterUserScram)."""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.security.credentials import EXTENSION_KEY, ScramCredentialStore
from embedded_broker.security.scram import (
    MAX_ITERATIONS,
    MECHANISM_CODES,
    MECHANISM_NAMES,
    MIN_ITERATIONS,
    credential_from_salted,
)
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module


def _store(state: BrokerState) -> ScramCredentialStore:
    store = state.extensions.get(EXTENSION_KEY)
    if not isinstance(store, ScramCredentialStore):  # a broker built without the security set-up
        store = ScramCredentialStore(None)
        state.extensions[EXTENSION_KEY] = store
    return store


async def handle_sasl_handshake(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    """On a listener without SASL (or once authenticated), as Kafka answers it."""
    return build(
        response_module(request).SaslHandshakeResponse,
        error_code=ErrorCode.illegal_sasl_state,
        mechanisms=(),
    )


async def handle_sasl_authenticate(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    return build(
        response_module(request).SaslAuthenticateResponse,
        error_code=ErrorCode.illegal_sasl_state,
        error_message="SaslAuthenticate request received on a listener without SASL or after "
        "successful authentication",
        auth_bytes=b"",
        session_lifetime=datetime.timedelta(0),
    )


async def handle_describe_scram(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    users = _store(state).users()
    # null or empty: every user, as Kafka does (kafka-configs --describe sends an empty list)
    wanted = [str(u.name) for u in request.users or ()] or sorted(users)
    results = []
    seen: set[str] = set()
    duplicates: set[str] = set()
    for name in wanted:
        (duplicates if name in seen else seen).add(name)
    for name in dict.fromkeys(wanted):
        code, message, infos = ErrorCode.none, None, ()
        if name in duplicates:
            code = ErrorCode.duplicate_resource
            message = (
                "Cannot describe SCRAM credentials for the same user twice in a single request"
            )
        elif name not in users:
            code = ErrorCode.resource_not_found
            message = "Attempt to describe a user credential that does not exist"
        else:
            infos = tuple(
                build(mod.CredentialInfo, mechanism=MECHANISM_CODES[m], iterations=c.iterations)
                for m, c in sorted(users[name].items())
            )
        results.append(
            build(
                mod.DescribeUserScramCredentialsResult,
                user=name,
                error_code=code,
                error_message=message,
                credential_infos=infos,
            )
        )
    return build(
        mod.DescribeUserScramCredentialsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        results=tuple(results),
    )


def _check_upsertion(item: Any) -> tuple[ErrorCode, str | None]:
    if int(item.mechanism) not in MECHANISM_NAMES:
        return ErrorCode.unsupported_sasl_mechanism, "Unknown SCRAM mechanism"
    if not item.name:
        return ErrorCode.unacceptable_credential, "Username must not be empty"
    if int(item.iterations) < MIN_ITERATIONS:
        return ErrorCode.unacceptable_credential, "Too few iterations"
    if int(item.iterations) > MAX_ITERATIONS:
        return ErrorCode.unacceptable_credential, "Too many iterations"
    if not item.salt or not item.salted_password:
        return ErrorCode.unacceptable_credential, "Credential salt and salted password are required"
    return ErrorCode.none, None


async def handle_alter_scram(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    store = _store(state)
    counts: dict[str, int] = {}
    for item in (*request.deletions, *request.upsertions):
        counts[str(item.name)] = counts.get(str(item.name), 0) + 1
    outcome: dict[str, tuple[ErrorCode, str | None]] = {}
    changed = False
    for item in request.deletions:
        name = str(item.name)
        if counts[name] > 1:
            outcome[name] = (
                ErrorCode.duplicate_resource,
                "A user credential cannot be altered twice in the same request",
            )
        elif int(item.mechanism) not in MECHANISM_NAMES:
            outcome[name] = (ErrorCode.unsupported_sasl_mechanism, "Unknown SCRAM mechanism")
        elif not store.delete(name, MECHANISM_NAMES[int(item.mechanism)]):
            outcome[name] = (
                ErrorCode.resource_not_found,
                "Attempt to delete a user credential that does not exist",
            )
        else:
            changed = True
            outcome[name] = (ErrorCode.none, None)
    for item in request.upsertions:
        name = str(item.name)
        if counts[name] > 1:
            outcome[name] = (
                ErrorCode.duplicate_resource,
                "A user credential cannot be altered twice in the same request",
            )
            continue
        outcome[name] = _check_upsertion(item)
        if outcome[name][0] == ErrorCode.none:
            mechanism = MECHANISM_NAMES[int(item.mechanism)]
            credential = credential_from_salted(
                mechanism, bytes(item.salted_password), bytes(item.salt), int(item.iterations)
            )
            store.put(name, mechanism, credential)
            changed = True
    if changed:
        await store.persist()
    return build(
        mod.AlterUserScramCredentialsResponse,
        throttle_time=NO_THROTTLE,
        results=tuple(
            build(mod.AlterUserScramCredentialsResult, user=n, error_code=c, error_message=m)
            for n, (c, m) in outcome.items()
        ),
    )


async def handle_describe_client_quotas(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    """No entries: this broker has no client quotas (kafka-configs --describe --entity-type
    users asks for them alongside the SCRAM credentials)."""
    return build(
        response_module(request).DescribeClientQuotasResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        entries=(),
    )


APIS = (
    ApiSpec(48, 0, 1, handle_describe_client_quotas),
    ApiSpec(17, 0, 1, handle_sasl_handshake),
    ApiSpec(36, 0, 2, handle_sasl_authenticate),
    ApiSpec(50, 0, 0, handle_describe_scram),
    ApiSpec(51, 0, 0, handle_alter_scram),
)
