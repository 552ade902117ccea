"""topics.json checks: each kind of damage is named by file and field; a good copy is kept."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from embedded_broker.damaged import DamagedFileError
from embedded_broker.registry import TopicRegistry

TOPIC_ID = str(uuid.uuid4())


def _good() -> dict[str, Any]:
    return {
        "cluster_id": "abc",
        "broker_dynamic": {"log.retention.ms": "1000"},
        "next_producer_id": 1200,
        "topics": [
            {
                "name": "orders",
                "topic_id": TOPIC_ID,
                "partitions": 3,
                "configs": {"cleanup.policy": "compact"},
                "internal": False,
            }
        ],
    }


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    data = _good()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


CASES = [
    (_with(["topics"], {"orders": 3}), "topics is {"),
    (_with(["topics", 0], "orders"), 'topics[0] is "orders"'),
    (_with(["topics", 0, "partitions"], "3"), 'topics[0].partitions is "3"'),
    (_with(["topics", 0, "partitions"], 0), "topics[0].partitions is 0"),
    (_with(["topics", 0, "partitions"], True), "topics[0].partitions is true"),
    (_with(["topics", 0, "topic_id"], "not-a-uuid"), 'topics[0].topic_id is "not-a-uuid"'),
    (_with(["topics", 0, "name"], "../escape"), 'topics[0].name is "../escape"'),
    (_with(["topics", 0, "name"], KeyError), 'topics[0] has no "name"'),
    (_with(["topics", 0, "configs"], ["a"]), 'topics[0].configs is ["a"]'),
    (_with(["topics", 0, "configs", "x"], {"y": 1}), "topics[0].configs.x is {"),
    (_with(["topics", 0, "internal"], "no"), 'topics[0].internal is "no"'),
    (_with(["next_producer_id"], "many"), 'next_producer_id is "many"'),
    (_with(["cluster_id"], 5), "cluster_id is 5"),
    (_with(["broker_dynamic"], None), "broker_dynamic is null"),
]


def _write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "topics.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize(("content", "problem"), CASES)
def test_wrong_types_are_named_by_field(tmp_path: Path, content: Any, problem: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(DamagedFileError) as caught:
        TopicRegistry(tmp_path)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"The broker's topic list {path} is damaged: {problem}")


def test_repeated_topic_is_damage(tmp_path: Path) -> None:
    data = _good()
    data["topics"].append(dict(data["topics"][0], topic_id=str(uuid.uuid4())))
    _write(tmp_path, data)
    with pytest.raises(DamagedFileError, match="topics\\[1\\] repeats the topic name 'orders'"):
        TopicRegistry(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "topics.json").write_bytes(b'{"topics": ["\xff"]}')
    with pytest.raises(DamagedFileError, match="not UTF-8 text"):
        TopicRegistry(tmp_path)


def test_good_file_loads_and_keeps_a_copy_only_when_it_changed(tmp_path: Path) -> None:
    path = _write(tmp_path, _good())
    registry = TopicRegistry(tmp_path)
    info = registry.topics["orders"]
    assert (info.topic_id, info.partitions, info.configs) == (
        uuid.UUID(TOPIC_ID),
        3,
        {"cleanup.policy": "compact"},
    )
    assert (registry.cluster_id, registry.next_producer_id) == ("abc", 1200)
    prev = tmp_path / "topics.json.prev"
    assert prev.read_bytes() == path.read_bytes()
    stamp = prev.stat().st_mtime_ns
    TopicRegistry(tmp_path)
    assert prev.stat().st_mtime_ns == stamp  # unchanged file: no rewrite, no fsync


def test_damaged_previous_copy_is_not_offered(tmp_path: Path) -> None:
    _write(tmp_path, "{")
    (tmp_path / "topics.json.prev").write_text("{")
    with pytest.raises(DamagedFileError) as caught:
        TopicRegistry(tmp_path)
    assert ".prev" not in str(caught.value)
    assert "Move the damaged file aside" in str(caught.value)
