"""SASL requests outside a SASL exchange, and SCRAM user management (Describe/AlterUserScram)."""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link.channel import ControllerUnavailableError
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.security.credentials import EXTENSION_KEY, ScramCredentialStore
from embedded_broker.security.scram import MECHANISM_CODES
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .scram_wire import alter_response, refused_response
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


async def handle_alter_scram(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if (link := cluster_link(state)) is not None:
        # the users live in the controller's metadata log; this broker's store follows it
        try:
            return await link.forward(request)
        except ControllerUnavailableError:
            return refused_response(
                request, ErrorCode.request_timed_out, link.unavailable_message()
            )
    store = _store(state)
    response, changed = alter_response(request, store)
    if changed:
        await store.persist()
    return response


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
