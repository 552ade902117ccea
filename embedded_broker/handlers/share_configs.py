"""Group configs (resource type GROUP) for DescribeConfigs and (Incremental)AlterConfigs: the
share.* settings of a share group (share/group_configs.py), saved with its share-group state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from embedded_broker.share.group_configs import GROUP_KEYS, validate
from embedded_broker.share.runtime import EXTENSION_KEY, ShareCoordinator, share_coordinator
from embedded_broker.state import BrokerState

GROUP = 32
SOURCE_GROUP_CONFIG = 8  # Kafka's ConfigSource.GROUP_CONFIG
SOURCE_DEFAULT = 5
TYPE_STRING, TYPE_INT = 2, 3


async def prepare(state: BrokerState, resources: Iterable[Any]) -> None:
    """Load the share coordinator (its saved configs) before a request names a group."""
    if any(r.resource_type == GROUP for r in resources):
        await share_coordinator(state)


def _loaded(state: BrokerState) -> ShareCoordinator:
    share = state.extensions.get(EXTENSION_KEY)
    assert isinstance(share, ShareCoordinator), "prepare() loads it first"
    return share


def current(state: BrokerState, group_id: str) -> dict[str, str | None]:
    return dict(_loaded(state).group_configs.get(group_id, {}))


def apply(
    state: BrokerState, group_id: str, new: dict[str, str | None], validate_only: bool
) -> str | None:
    """Replace the group's overrides with ``new``; an error message if one is not allowed."""
    kept, problem = validate(new)
    if problem is not None or validate_only:
        return problem
    share = _loaded(state)
    if kept:
        share.group_configs[group_id] = kept
    else:
        share.group_configs.pop(group_id, None)
    return None


async def settle(state: BrokerState, resources: Iterable[Any]) -> bool:
    """Save the groups whose configs a request changed; False if that failed."""
    saved = True
    for group_id in {r.resource_name for r in resources if r.resource_type == GROUP}:
        saved &= await _loaded(state).persist(group_id)
    return saved


async def rows(
    state: BrokerState, group_id: str, keys: set[str] | None
) -> list[tuple[str, str, int, int, str]]:
    """(name, value, source, type code, documentation) of the group's configs."""
    share = await share_coordinator(state)
    own = share.group_configs.get(group_id, {})
    found = []
    for name, key in GROUP_KEYS.items():
        if keys is not None and name not in keys:
            continue
        if name in own:
            value, source = own[name], SOURCE_GROUP_CONFIG
        else:
            broker = state.config.value(key.broker_default) if key.broker_default else None
            value, source = broker or key.default, SOURCE_DEFAULT
        kind = TYPE_STRING if name == "share.auto.offset.reset" else TYPE_INT
        found.append((name, value, source, kind, key.doc))
    return found
