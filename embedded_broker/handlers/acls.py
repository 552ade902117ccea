"""DescribeAcls, CreateAcls and DeleteAcls (29-31) against the broker's authorizer."""

from __future__ import annotations

import logging
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.security.acl import AclBinding, AclFilter, binding
from embedded_broker.state import BrokerState

from .authz import CLUSTER, allowed, authorizer
from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module

log = logging.getLogger(__name__)

NO_AUTHORIZER = "No Authorizer is configured."
CLUSTER_DENIED = "Cluster authorization failed."


def _refusal(ctx: RequestContext, state: BrokerState) -> tuple[ErrorCode, str] | None:
    """SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED without the
    cluster operation the table names (Describe to list, Alter to change)."""
    if authorizer(state) is None:
        return ErrorCode.security_disabled, NO_AUTHORIZER
    if not allowed(ctx, state, CLUSTER):
        return ErrorCode.cluster_authorization_failed, CLUSTER_DENIED
    return None


async def _persist(state: BrokerState) -> str | None:
    """Write the ACLs off the event loop; a user-facing reason when that failed."""
    az = authorizer(state)
    assert az is not None
    try:
        await az.persist()
    except OSError as exc:
        log.error("Could not save the ACLs to %s: %s", az.path, exc)
        return (
            f"The ACLs could not be saved to {az.path} ({exc.strerror or exc}); they apply "
            "until the broker stops. Free disk space and repeat the change."
        )
    return None


async def handle_describe_acls(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    refusal = _refusal(ctx, state)
    flt = AclFilter.from_wire(request)
    if refusal is None and (reason := flt.invalid_reason()) is not None:
        refusal = ErrorCode.invalid_request, reason
    if refusal is not None:
        return build(
            mod.DescribeAclsResponse,
            throttle_time=NO_THROTTLE,
            error_code=refusal[0],
            error_message=refusal[1],
            resources=(),
        )
    az = authorizer(state)
    assert az is not None
    grouped: dict[tuple[int, str, int], list[AclBinding]] = {}
    for acl in az.bindings(flt):
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


async def handle_create_acls(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    refusal = _refusal(ctx, state)
    results: list[tuple[ErrorCode, str | None]] = []
    valid: list[AclBinding] = []
    for item in request.creations:
        if refusal is not None:
            results.append(refusal)
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
    if valid:
        az = authorizer(state)
        assert az is not None
        az.add(valid)
        failure = await _persist(state)
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


async def handle_delete_acls(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    refusal = _refusal(ctx, state)
    az = authorizer(state)
    outcomes: list[tuple[ErrorCode, str | None, list[AclBinding]]] = []
    doomed: set[AclBinding] = set()
    for item in request.filters:
        flt = AclFilter.from_wire(item)
        if refusal is not None:
            outcomes.append((refusal[0], refusal[1], []))
            continue
        if (reason := flt.invalid_reason()) is not None:
            outcomes.append((ErrorCode.invalid_request, reason, []))
            continue
        assert az is not None
        matched = az.bindings(flt)
        doomed.update(matched)
        outcomes.append((ErrorCode.none, None, matched))
    failure = None
    if doomed:
        assert az is not None
        az.remove(doomed)
        failure = await _persist(state)
    results = []
    for code, message, matched in outcomes:
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
            for a in matched
        )
        results.append(
            build(
                mod.DeleteAclsFilterResult,
                error_code=code,
                error_message=message,
                matching_acls=acls,
            )
        )
    return build(mod.DeleteAclsResponse, throttle_time=NO_THROTTLE, filter_results=tuple(results))


APIS = (
    ApiSpec(29, 1, 3, handle_describe_acls),
    ApiSpec(30, 1, 3, handle_create_acls),
    ApiSpec(31, 1, 3, handle_delete_acls),
)
