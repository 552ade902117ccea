"""Logging of request-handler failures: one line each, the full traceback once per distinct bug.

A handler exception is a broker bug, so it must stay visible with enough detail to fix it. But
a client that repeats the failing request (a retrying producer, a fuzzer) must not fill the log
with a 25-line traceback per request: the traceback is logged at ERROR the first time a given
exception type is raised at a given place for a given API, later ones get one line (and their
traceback only at DEBUG level).
"""

from __future__ import annotations

import logging
import os
import traceback

from .protocol.codec import api_schema, peek_header

# Distinct (api, exception type, place) triples remembered; past this every failure is one line.
MAX_REMEMBERED = 256


def _api_name(frame: bytes) -> str:
    try:
        header = peek_header(frame)
    except Exception:
        return "an unparsable request"
    try:
        name = api_schema(header.api_key, header.api_version).request_type.__name__
    except Exception:
        return f"API key {header.api_key} v{header.api_version}"
    return f"{name.removesuffix('Request')} v{header.api_version}"


def _place(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{os.path.basename(last.filename)}:{last.lineno} in {last.name}"


class HandlerFailureLog:
    """Remembers which failures were already logged in full."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._seen: set[tuple[str, str, str]] = set()

    def record(self, exc: Exception, frame: bytes, peer: tuple[str, int]) -> None:
        api = _api_name(frame)
        place = _place(exc)
        key = (api.split(" v", 1)[0], type(exc).__name__, place)
        first = key not in self._seen and len(self._seen) < MAX_REMEMBERED
        if first:
            self._seen.add(key)
        message = " ".join(str(exc).split())[:300]  # one line, whatever the exception says
        self._log.error(
            "Request handler failed on %s from %s:%d, closing that connection: %s: %s (at %s). "
            "This is a broker bug; %s",
            api,
            peer[0],
            peer[1],
            type(exc).__name__,
            message,
            place,
            "the traceback follows." if first else "its traceback was logged the first time.",
            exc_info=exc if first else None,
        )
        if not first and self._log.isEnabledFor(logging.DEBUG):
            self._log.debug("Traceback of the failure above", exc_info=exc)
