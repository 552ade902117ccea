"""The ACL APIs' answers from an ACL store (the broker's authorizer or the controller's
metadata log): shared by the broker's handlers and the controller, free of broker state."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from kio.schema.errors import ErrorCode

from embedded_broker.security.acl import AclBinding, AclFilter, binding
from embedded_broker.security.authorizer import Authorizer

from .util import NO_THROTTLE, build, response_module

log = logging.getLogger(__name__)

NO_AUTHORIZER = "No Authorizer is configured."
CLUSTER_DENIED = "Cluster authorization failed."
Refusal = tuple[ErrorCode, str]


class AclStore(Protocol):
    """Where the ACLs live: the broker's authorizer, or the controller's metadata log."""

    def bindings(self, flt: AclFilter | None = None) -> list[AclBinding]: ...

    async def apply(self, add: Sequence[AclBinding], remove: Sequence[AclBinding]) -> str | None:
        """Make the change durable; a user-facing reason when that failed."""
        ...


class LocalAcls:
    """A single node's ACLs: the authorizer, saved to acls.json off the event loop."""

    def __init__(self, az: Authorizer) -> None:
        self._az = az

    def bindings(self, flt: AclFilter | None = None) -> list[AclBinding]:
        return self._az.bindings(flt)

    async def apply(self, add: Sequence[AclBinding], remove: Sequence[AclBinding]) -> str | None:
        self._az.add(add)
        self._az.remove(remove)
        try:
            await self._az.persist()
        except OSError as exc:
            log.error("Could not save the ACLs to %s: %s", self._az.path, exc)
            return (
                f"The ACLs could not be saved to {self._az.path} ({exc.strerror or exc}); they "
                "apply until the broker stops. Free disk space and repeat the change."
            )
        return None


def describe_response(request: Any, store: AclStore | None, refusal: Refusal | None) -> Any:
    mod = response_module(request)
    flt = AclFilter.from_wire(request)
    if refusal is None and (reason := flt.invalid_reason()) is not None:
        refusal = ErrorCode.invalid_request, reason
    if refusal is not None or store is None:
        code, message = refusal or (ErrorCode.security_disabled, NO_AUTHORIZER)
        return build(
            mod.DescribeAclsResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            error_message=message,
            resources=(),
        )
    grouped: dict[tuple[int, str, int], list[AclBinding]] = {}
    for acl in store.bindings(flt):
        key = (int(acl.resource_type), acl.name, int(acl.pattern_type))
        grouped.setdefault(key, []).append(acl)
    resources = tuple(
        build(
            mod.DescribeAclsResource,
            resource_type=rtype,
            resource_name=name,
            pattern_type=ptype,
            acls=tuple(
                build(
                    mod.AclDescription,
                    principal=a.principal,
                    host=a.host,
                    operation=int(a.operation),
                    permission_type=int(a.permission),
                )
                for a in acls
            ),
        )
        for (rtype, name, ptype), acls in grouped.items()
    )
    return build(
        mod.DescribeAclsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        resources=resources,
    )


async def create_response(request: Any, store: AclStore | None, refusal: Refusal | None) -> Any:
    mod = response_module(request)
    results: list[tuple[ErrorCode, str | None]] = []
    valid: list[AclBinding] = []
    for item in request.creations:
        if refusal is not None or store is None:
            results.append(refusal or (ErrorCode.security_disabled, NO_AUTHORIZER))
            continue
        acl = binding(
            int(item.resource_type),
            item.resource_name,
            int(item.resource_pattern_type),
            principal=item.principal,
            host=item.host,
            operation=int(item.operation),
            permission=int(item.permission_type),
        )
        reason = acl.invalid_reason()
        if reason is not None:
            results.append((ErrorCode.invalid_request, reason))
        else:
            valid.append(acl)
            results.append((ErrorCode.none, None))
    if valid and store is not None:
        failure = await store.apply(valid, ())
        if failure is not None:
            results = [
                (ErrorCode.unknown_server_error, failure) if code == ErrorCode.none else (code, m)
                for code, m in results
            ]
    return build(
        mod.CreateAclsResponse,
        throttle_time=NO_THROTTLE,
        results=tuple(
            build(mod.AclCreationResult, error_code=code, error_message=message)
            for code, message in results
        ),
    )


async def delete_response(request: Any, store: AclStore | None, refusal: Refusal | None) -> Any:
    mod = response_module(request)
    outcomes: list[tuple[ErrorCode, str | None, list[AclBinding]]] = []
    doomed: dict[AclBinding, None] = {}
    for item in request.filters:
        flt = AclFilter.from_wire(item)
        if refusal is not None or store is None:
            code, message = refusal or (ErrorCode.security_disabled, NO_AUTHORIZER)
            outcomes.append((code, message, []))
            continue
        if (reason := flt.invalid_reason()) is not None:
            outcomes.append((ErrorCode.invalid_request, reason, []))
            continue
        matched = store.bindings(flt)
        doomed.update(dict.fromkeys(matched))
        outcomes.append((ErrorCode.none, None, matched))
    failure = None
    if doomed and store is not None:
        failure = await store.apply((), list(doomed))
    results = []
    for code, note, found in outcomes:
        acls = tuple(
            build(
                mod.DeleteAclsMatchingAcl,
                error_code=ErrorCode.unknown_server_error if failure else ErrorCode.none,
                error_message=failure,
                resource_type=int(a.resource_type),
                resource_name=a.name,
                pattern_type=int(a.pattern_type),
                principal=a.principal,
                host=a.host,
                operation=int(a.operation),
                permission_type=int(a.permission),
            )
            for a in found
        )
        results.append(
            build(
                mod.DeleteAclsFilterResult,
                error_code=code,
                error_message=note,
                matching_acls=acls,
            )
        )
    return build(mod.DeleteAclsResponse, throttle_time=NO_THROTTLE, filter_results=tuple(results))
