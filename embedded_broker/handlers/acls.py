"""DescribeAcls, CreateAcls and DeleteAcls (29-31): the broker's authorizer holds the ACLs
(acls.json on a single node); a cluster broker forwards changes to the controller, whose
metadata log holds them (controller/acls.py answers with the same functions)."""

from __future__ import annotations

import logging
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link.channel import ControllerUnavailableError
from embedded_broker.cluster_link.link import BrokerLink, cluster_link
from embedded_broker.state import BrokerState

from .acl_wire import (
    CLUSTER_DENIED,
    NO_AUTHORIZER,
    LocalAcls,
    Refusal,
    create_response,
    delete_response,
    describe_response,
)
from .authz import CLUSTER, allowed, authorizer
from .base import ApiSpec, RequestContext

log = logging.getLogger(__name__)


def _refusal(ctx: RequestContext, state: BrokerState) -> Refusal | None:
    """SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED without the
    cluster operation the table names (Describe to list, Alter to change)."""
    if authorizer(state) is None:
        return ErrorCode.security_disabled, NO_AUTHORIZER
    if not allowed(ctx, state, CLUSTER):
        return ErrorCode.cluster_authorization_failed, CLUSTER_DENIED
    return None


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
