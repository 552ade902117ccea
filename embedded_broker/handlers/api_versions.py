"""ApiVersions: generated from the API table, so only implemented APIs are advertised."""

from __future__ import annotations

from typing import Any

from kio.schema.api_versions.v0 import response as v0
from kio.schema.errors import ErrorCode

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module

API_KEY = 18
MIN_VERSION = 0
MAX_VERSION = 4
# Features (ApiVersions v3+) at the level Kafka 4.3.1 finalizes them, for what this broker
# implements: group.version 1 is the consumer group protocol (KIP-848). name -> (min, max).
FEATURES: dict[str, tuple[int, int]] = {"group.version": (1, 1)}
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
                build(mod.SupportedFeatureKey, name=name, min_version=0, max_version=high)
                for name, (_, high) in FEATURES.items()
            ),
            "finalized_features_epoch": FEATURES_EPOCH,
            "finalized_features": tuple(
                build(
                    mod.FinalizedFeatureKey,
                    name=name,
                    min_version_level=low,
                    max_version_level=high,
                )
                for name, (low, high) in FEATURES.items()
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
