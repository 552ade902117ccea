"""Request handlers, one module per API area, and the single API table ApiVersions is built from.

Handler contract (every API area follows it):

    async def handle_x(ctx: RequestContext, request: <kio XRequest of ctx.api_version>,
                       state: BrokerState) -> <kio XResponse of the same version> | None

* ``ctx`` (``handlers.base.RequestContext``): api_key, api_version, correlation_id, client_id,
  client_host / client_port (the peer, e.g. for DescribeGroups' client_host), local_host /
  local_port (the address the client connected to).
* ``request`` is the decoded kio request object; build the response with the kio response
  class of the same module, e.g. ``type(request).__module__`` -> ``...vN.response``; the helper
  ``handlers.util.response_module(request)`` returns that module.
* ``state`` (``embedded_broker.state.BrokerState``): config, topic registry, LogManager, clock
  (``state.now_ms()``), node id, cluster id, ``state.spawn(coro)`` for background tasks that are
  cancelled at shutdown, ``state.on_shutdown(async_fn)`` for cleanup, and ``state.extensions``
  (a dict for per-broker singletons such as a group coordinator, keyed by a module-level name).
* Return ``None`` only when Kafka sends no response (Produce with acks=0).
* Handlers run sequentially per connection; one may await (long-poll fetch) without blocking
  other connections. Raising an exception closes that connection and logs one line.

Adding an API area: write ``handlers/<area>.py`` exporting ``APIS: tuple[ApiSpec, ...]`` and add
``<area>.APIS`` to ``_AREAS`` below. Only what is in the table is advertised by ApiVersions.
"""

from __future__ import annotations

from . import (
    acls,
    admin_lists,
    api_versions,
    cluster,
    configs,
    consumer_groups,
    elections,
    fetch,
    groups,
    metadata,
    offsets,
    produce,
    producer_ids,
    quorum,
    reassignments,
    security,
    share_admin,
    share_fetch,
    share_groups,
    share_state,
    topics,
    transactions,
    txn_admin,
)
from .authz_guards import guarded
from .base import ApiSpec, Handler, RequestContext

_AREAS: tuple[tuple[ApiSpec, ...], ...] = (
    api_versions.APIS,
    metadata.APIS,
    produce.APIS,
    fetch.APIS,
    offsets.APIS,
    producer_ids.APIS,
    topics.APIS,
    configs.APIS,
    cluster.APIS,
    groups.APIS,
    elections.APIS,
    reassignments.APIS,
    security.APIS,
    consumer_groups.APIS,
    transactions.APIS,
    txn_admin.APIS,
    quorum.APIS,
    admin_lists.APIS,
    acls.APIS,
    share_groups.APIS,
    share_fetch.APIS,
    share_admin.APIS,
    share_state.APIS,
)


def _build_table() -> dict[int, ApiSpec]:
    table: dict[int, ApiSpec] = {}
    for area in _AREAS:
        for spec in area:
            if spec.api_key in table:
                raise RuntimeError(f"API key {spec.api_key} registered twice")
            table[spec.api_key] = guarded(spec)
    return table


API_TABLE: dict[int, ApiSpec] = _build_table()

__all__ = ["API_TABLE", "ApiSpec", "Handler", "RequestContext"]
