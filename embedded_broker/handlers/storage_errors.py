"""A partition whose log cannot be read or written answers KAFKA_STORAGE_ERROR on its own."""

from __future__ import annotations

import logging

from kio.schema.errors import ErrorCode

from embedded_broker.state import BrokerState

log = logging.getLogger("embedded_broker.storage")

STORAGE_ERROR = ErrorCode.kafka_storage_error
_LOGGED_KEY = "handlers.storage_errors.logged"


def storage_failure(state: BrokerState, topic: str, partition: int, exc: Exception) -> ErrorCode:
    """Log the failure (one line, once per partition and cause) and return the partition error.

    Clients retry KAFKA_STORAGE_ERROR, so a damaged partition would otherwise log on every
    request; a new cause for the same partition is logged again.
    """
    logged = state.extensions.setdefault(_LOGGED_KEY, {})
    assert isinstance(logged, dict)
    cause = f"{type(exc).__name__}: {exc}"
    if logged.get((topic, partition)) != cause:
        if len(logged) > 10_000:  # bounded, whatever happens to the disk
            logged.clear()
        logged[(topic, partition)] = cause
        log.error(
            "Partition %s-%d cannot be read or written (%s); its clients get "
            "KAFKA_STORAGE_ERROR. Check the disk; restarting the broker re-opens the partition.",
            topic,
            partition,
            cause,
        )
    return STORAGE_ERROR
