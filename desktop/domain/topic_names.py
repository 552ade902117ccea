"""Kafka's rules for topic names, with messages a user can act on."""

from __future__ import annotations

import re

MAX_TOPIC_NAME = 249
_LEGAL = re.compile(r"^[a-zA-Z0-9._-]+$")


def topic_name_error(name: str) -> str | None:
    """Return why `name` is not a legal Kafka topic name, or None when it is."""
    if not name:
        return "Enter a topic name."
    if name in (".", ".."):
        return "A topic cannot be named '.' or '..'."
    if len(name) > MAX_TOPIC_NAME:
        return f"Topic names are at most {MAX_TOPIC_NAME} characters (this one has {len(name)})."
    if not _LEGAL.match(name):
        bad = sorted({c for c in name if not re.match(r"[a-zA-Z0-9._-]", c)})
        shown = " ".join(repr(c) for c in bad)
        return f"Only letters, digits, '.', '_' and '-' are allowed (found {shown})."
    return None


def collides_with(name: str, existing: list[str]) -> str | None:
    """Kafka refuses names that differ only by '.' versus '_' from an existing topic."""
    key = name.replace(".", "_")
    for other in existing:
        if other != name and other.replace(".", "_") == key:
            return (
                f"'{name}' collides with existing topic '{other}' ('.' and '_' are treated alike)."
            )
    return None
