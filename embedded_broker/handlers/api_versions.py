"""ApiVersions: generated from the API table, so only implemented APIs are advertised."""

from __future__ import annotations

from typing import Any

from kio.schema.api_versions.v0 import response as v0
from kio.schema.errors import ErrorCode

from embedded_broker.txn.version import FINALIZED_LEVEL as TRANSACTION_VERSION

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module

API_KEY = 18
MIN_VERSION = 0
MAX_VERSION = 4
# Features (ApiVersions v3+), reported as Kafka 4.3.1 reports them but only at levels this
# broker implements. Kafka 4.3.1 supports and finalizes: metadata.version 7-30 (30), group.version
# 0-1 (1), transaction.version 0-2 (2), share.version 0-1 (1), streams.version 0-1 (1),
# eligible.leader.replicas.version 0-1 (1), kraft.version 0-1 (not finalized: 0 on a static
# quorum). Like Kafka, a feature whose highest supported level is 0 is left out, and a level-0
# feature is not listed as finalized. Here:
# * metadata.version 30 only (what a fresh 4.3.1 node finalizes): the request versions are 4.3's,
#   and this broker cannot run at an older level;
# * group.version 1: the consumer group protocol (KIP-848);
# * transaction.version 2 (txn/version.py): transactions v2 (KIP-890 part 2), Produce 12
#   adding partitions implicitly and EndTxn 5 bumping the epoch; at level 0 it is not listed
#   and clients stay on transactions v1;
# * share.version 1: share groups (KIP-932) with their APIs at Kafka's versions (share/);
# * streams.version 0: no streams groups (KIP-1071);
# * eligible.leader.replicas.version 0: the cluster keeps no ELR (KIP-966);
# * kraft.version 0: a static controller quorum (no AddRaftVoter).
SUPPORTED_FEATURES: dict[str, tuple[int, int]] = {
    "metadata.version": (30, 30),
    "group.version": (0, 1),
    "share.version": (0, 1),
}
FINALIZED_FEATURES: dict[str, int] = {
    "metadata.version": 30,
    "group.version": 1,
    "share.version": 1,
}
if TRANSACTION_VERSION > 0:
    SUPPORTED_FEATURES["transaction.version"] = (0, TRANSACTION_VERSION)
    FINALIZED_FEATURES["transaction.version"] = TRANSACTION_VERSION
FEATURES_EPOCH = 1


def advertised() -> list[tuple[int, int, int]]:
    from . import API_TABLE

    return sorted((s.api_key, s.min_version, s.max_version) for s in API_TABLE.values())


def unsupported_version_response() -> Any:
    """The v0-format reply Kafka sends for an ApiVersions version it does not know."""
    return v0.ApiVersionsResponse(
        error_code=ErrorCode.unsupported_version,
        api_keys=tuple(
            v0.ApiVersion(api_key=k, min_version=lo, max_version=hi)  # type: ignore[arg-type]
            for k, lo, hi in advertised()
        ),
    )


async def handle_api_versions(ctx: RequestContext, request: Any, state: object) -> Any:
    mod = response_module(request)
    keys = tuple(
        build(mod.ApiVersion, api_key=k, min_version=lo, max_version=hi)
        for k, lo, hi in advertised()
    )
    features: dict[str, Any] = {}
    if ctx.api_version >= 3:
        features = {
            "supported_features": tuple(
                build(mod.SupportedFeatureKey, name=name, min_version=low, max_version=high)
                for name, (low, high) in SUPPORTED_FEATURES.items()
            ),
            "finalized_features_epoch": FEATURES_EPOCH,
            "finalized_features": tuple(
                build(
                    mod.FinalizedFeatureKey,
                    name=name,
                    min_version_level=level,
                    max_version_level=level,
                )
                for name, level in FINALIZED_FEATURES.items()
            ),
        }
    return build(
        mod.ApiVersionsResponse,
        error_code=ErrorCode.none,
        api_keys=keys,
        throttle_time=NO_THROTTLE,
        **features,
    )


APIS = (ApiSpec(API_KEY, MIN_VERSION, MAX_VERSION, handle_api_versions),)
