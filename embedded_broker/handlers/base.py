"""The handler contract: request context, handler signature and the table entry type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedded_broker.flow import OutgoingBudget
    from embedded_broker.state import BrokerState


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a handler knows about the request besides its body."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    client_host: str
    client_port: int
    # The address the client reached us on: what Metadata advertises unless configured otherwise.
    local_host: str
    local_port: int
    # The server-wide budget of response bytes; a handler that reads much (Fetch) sizes to it.
    outgoing: OutgoingBudget | None = None
    # The listener name the client connected through (Metadata advertises that listener).
    listener: str = ""
    # Who the client authenticated as (SASL or a client certificate), for the authorizer.
    principal: str = "User:ANONYMOUS"


Handler = Callable[[RequestContext, Any, "BrokerState"], Awaitable[Any | None]]


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """One row of the API table: versions min..max of api_key are served by handler."""

    api_key: int
    min_version: int
    max_version: int
    handler: Handler
