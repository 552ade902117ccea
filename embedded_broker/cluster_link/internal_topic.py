"""Asking the controller for an internal topic (__consumer_offsets, __transaction_state) that
the image lacks: one request at a time per broker and topic, a failure logged, and the next
caller (FindCoordinator) tries again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from kio.schema.create_topics.v7 import request as create_req
from kio.schema.errors import ErrorCode

from .channel import ControllerUnavailableError

if TYPE_CHECKING:
    from embedded_broker.cluster_link.link import BrokerLink
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)


async def ensure_internal_topic(
    state: BrokerState,
    link: BrokerLink,
    name: str,
    request: Callable[[], create_req.CreateTopicsRequest],
) -> None:
    """Create ``name`` with ``request()`` unless the image has it; waits for the attempt."""
    if name in link.image.topics:
        return
    key = f"internal_topic_creation:{name}"
    pending = state.extensions.get(key)
    if not isinstance(pending, asyncio.Future) or pending.done():
        pending = asyncio.ensure_future(_create(link, name, request()))
        state.extensions[key] = pending
    await asyncio.shield(pending)


async def _create(link: BrokerLink, name: str, request: create_req.CreateTopicsRequest) -> None:
    try:
        response = await link.forward(request)
    except ControllerUnavailableError as exc:
        log.warning("Could not create %s: %s", name, exc)
        return
    code = response.topics[0].error_code
    if code not in (ErrorCode.none, ErrorCode.topic_already_exists):
        log.warning(
            "The controller refused to create %s: %s (%s)",
            name,
            code.name,
            response.topics[0].error_message,
        )
