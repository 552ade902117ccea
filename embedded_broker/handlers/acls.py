"""DescribeAcls, CreateAcls and DeleteAcls (29-31): the broker's authorizer holds the ACLs
(acls.json on a single node); a cluster broker forwards changes to the controller, whose
metadata log holds them (controller/acls.py answers with the same functions)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link.channel import ControllerUnavailableError
from embedded_broker.cluster_link.link import BrokerLink, cluster_link
from embedded_broker.security.acl import AclBinding, AclFilter, binding
from embedded_broker.security.authorizer import Authorizer
from embedded_broker.state import BrokerState

from .authz import CLUSTER, allowed, authorizer
from .base import ApiSpec, RequestContext
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


def _refusal(ctx: RequestContext, state: BrokerState) -> Refusal | None:
    """SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED without the
    cluster operation the table names (Describe to list, Alter to change)."""
    if authorizer(state) is None:
        return ErrorCode.security_disabled, NO_AUTHORIZER
    if not allowed(ctx, state, CLUSTER):
        return ErrorCode.cluster_authorization_failed, CLUSTER_DENIED
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


def _local(state: BrokerState) -> LocalAcls | None:
    az = authorizer(state)
    return None if az is None else LocalAcls(az)


async def handle_describe_acls(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    # a cluster broker's authorizer follows the controller's metadata log: answered locally
    return describe_response(request, _local(state), _refusal(ctx, state))


async def _forward(link: BrokerLink, request: Any) -> Any | Refusal:
    """The controller's answer (the change is then in this broker's image), or why not."""
    try:
        return await link.forward(request)
    except ControllerUnavailableError:
        return ErrorCode.request_timed_out, link.unavailable_message()


async def handle_create_acls(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    refusal = _refusal(ctx, state)
    if refusal is None and (link := cluster_link(state)) is not None:
        answer = await _forward(link, request)
        if not isinstance(answer, tuple):
            return answer
        refusal = answer
    return await create_response(request, _local(state), refusal)


async def handle_delete_acls(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    refusal = _refusal(ctx, state)
    if refusal is None and (link := cluster_link(state)) is not None:
        answer = await _forward(link, request)
        if not isinstance(answer, tuple):
            return answer
        refusal = answer
    return await delete_response(request, _local(state), refusal)


APIS = (
    ApiSpec(29, 1, 3, handle_describe_acls),
    ApiSpec(30, 1, 3, handle_create_acls),
    ApiSpec(31, 1, 3, handle_delete_acls),
)
