"""AlterUserScramCredentials (51) as Kafka checks it, on any credential store: a single node's
own, or the controller's view of its metadata log (controller/scram.py)."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.security.credentials import ScramCredentialStore
from embedded_broker.security.scram import (
    MAX_ITERATIONS,
    MECHANISM_NAMES,
    MIN_ITERATIONS,
    credential_from_salted,
)

from .util import NO_THROTTLE, build, response_module


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


def _response(request: Any, outcome: dict[str, tuple[ErrorCode, str | None]]) -> Any:
    mod = response_module(request)
    return build(
        mod.AlterUserScramCredentialsResponse,
        throttle_time=NO_THROTTLE,
        results=tuple(
            build(mod.AlterUserScramCredentialsResult, user=n, error_code=c, error_message=m)
            for n, (c, m) in outcome.items()
        ),
    )


def refused_response(request: Any, code: ErrorCode, message: str) -> Any:
    """Every user of the request refused with the same error."""
    names = [str(i.name) for i in (*request.deletions, *request.upsertions)]
    return _response(request, {n: (code, message) for n in dict.fromkeys(names)})


def alter_response(request: Any, store: ScramCredentialStore) -> tuple[Any, bool]:
    """Apply the request's deletions and upsertions to `store`: (response, whether it changed)."""
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
    return _response(request, outcome), changed
