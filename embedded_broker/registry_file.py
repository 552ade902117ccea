"""Reading topics.json: every field checked, damage named by file and field, a good copy kept.

After each successful load the file is copied to ``topics.json.prev`` (only when it changed), so
a file damaged later (a disk error, an editor, a crash on a filesystem without atomic rename)
can be replaced by the copy from the last start that worked; the error message offers it.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

from .damaged import DamagedFileError, describe_json_error
from .storage.index import write_atomically

log = logging.getLogger(__name__)

PREVIOUS_SUFFIX = ".prev"
_SCALAR = (str, int, float, bool)


class _ProblemError(Exception):
    """One thing wrong with the content, in words (without the file name)."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string_map(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _ProblemError(f"{where} is {_show(value)} (expected an object of settings)")
    for key, item in value.items():
        if not isinstance(item, _SCALAR):
            raise _ProblemError(f"{where}.{key} is {_show(item)} (expected a text or number value)")
    return {str(k): str(v) for k, v in value.items()}


def _show(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _topic(raw: object, where: str) -> dict[str, Any]:
    from .registry import topic_name_error  # here: registry imports this module

    if not isinstance(raw, dict):
        raise _ProblemError(f"{where} is {_show(raw)} (expected an object describing a topic)")
    for key in ("name", "topic_id", "partitions"):
        if key not in raw:
            raise _ProblemError(f'{where} has no "{key}"')
    name = raw["name"]
    if not isinstance(name, str) or topic_name_error(name) is not None:
        raise _ProblemError(f"{where}.name is {_show(name)} (expected a legal topic name)")
    try:
        topic_id = uuid.UUID(str(raw["topic_id"]))
    except ValueError:
        shown = _show(raw["topic_id"])
        raise _ProblemError(f"{where}.topic_id is {shown} (expected a UUID)") from None
    partitions = raw["partitions"]
    if not _is_int(partitions) or partitions < 1:
        raise _ProblemError(
            f"{where}.partitions is {_show(partitions)} (expected a whole number of at least 1)"
        )
    internal = raw.get("internal", False)
    if not isinstance(internal, bool):
        raise _ProblemError(f"{where}.internal is {_show(internal)} (expected true or false)")
    configs = _string_map(raw.get("configs", {}), f"{where}.configs")
    return {
        "name": name,
        "topic_id": topic_id,
        "partitions": partitions,
        "configs": configs,
        "internal": internal,
    }


def _validate(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _ProblemError(f"it holds {_show(data)} instead of an object")
    out: dict[str, Any] = {}
    if "cluster_id" in data:
        if not isinstance(data["cluster_id"], str) or not data["cluster_id"]:
            raise _ProblemError(f"cluster_id is {_show(data['cluster_id'])} (expected a text)")
        out["cluster_id"] = data["cluster_id"]
    out["broker_dynamic"] = _string_map(data.get("broker_dynamic", {}), "broker_dynamic")
    if "next_producer_id" in data:
        value = data["next_producer_id"]
        if not _is_int(value) or value < 0:
            raise _ProblemError(f"next_producer_id is {_show(value)} (expected a whole number)")
        out["next_producer_id"] = value
    topics = data.get("topics", [])
    if not isinstance(topics, list):
        raise _ProblemError(f"topics is {_show(topics)} (expected a list)")
    out["topics"] = [_topic(raw, f"topics[{i}]") for i, raw in enumerate(topics)]
    names: set[str] = set()
    ids: set[uuid.UUID] = set()
    for i, topic in enumerate(out["topics"]):
        if topic["name"] in names:
            raise _ProblemError(f"topics[{i}] repeats the topic name {topic['name']!r}")
        if topic["topic_id"] in ids:
            raise _ProblemError(f"topics[{i}] repeats the topic id {topic['topic_id']}")
        names.add(topic["name"])
        ids.add(topic["topic_id"])
    return out


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _ProblemError(f"it is not UTF-8 text (a bad byte at position {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _ProblemError(describe_json_error(text, exc)) from None
    return _validate(data)


def previous_copy(path: Path) -> Path:
    return path.with_name(path.name + PREVIOUS_SUFFIX)


def _damaged_message(path: Path, problem: str) -> str:
    prev = previous_copy(path)
    message = f"The broker's topic list {path} is damaged: {problem}."
    try:
        _parse(prev.read_bytes())
    except (OSError, _ProblemError):
        move = "Move"
    else:
        message += (
            f" A copy saved when the broker last started successfully is in {prev}: "
            "replace the damaged file with it and start again (topics created, deleted or "
            "changed since that start will be out of date)."
        )
        move = "Or move"
    return message + (
        f" {move} the damaged file aside (for example rename it to {path.name}.damaged) to "
        "start with an empty topic list; the partition data stays in place, and creating a "
        "topic again with its old name and partition count serves its records again."
    )


def read_registry(path: Path) -> dict[str, Any]:
    """The checked content of topics.json; DamagedFileError (naming the file) if it is damaged.

    Keys: broker_dynamic, topics (dicts with a UUID topic_id), and cluster_id and
    next_producer_id when present.
    """
    raw = path.read_bytes()
    try:
        data = _parse(raw)
    except _ProblemError as problem:
        raise DamagedFileError(path, _damaged_message(path, str(problem))) from None
    prev = previous_copy(path)
    try:
        unchanged = prev.read_bytes() == raw
    except OSError:
        unchanged = False
    if not unchanged:
        try:
            write_atomically(prev, raw)
        except OSError as exc:  # the copy is a convenience; starting matters more
            log.warning("Could not keep a copy of %s in %s: %s", path, prev, exc)
    return data
