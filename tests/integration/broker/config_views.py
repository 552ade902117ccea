"""DescribeConfigs and DescribeLogDirs through kafka-python's admin client, as plain dicts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType


@contextmanager
def kafka_python_admin(bootstrap: str) -> Iterator[Any]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    try:
        yield client
    finally:
        client.close()


def describe(bootstrap: str, kind: str, name: str) -> dict[str, dict[str, Any]]:
    """Every config of a topic or broker: {name: {value, config_source, read_only, synonyms…}}."""
    rtype = ConfigResourceType.TOPIC if kind == "topic" else ConfigResourceType.BROKER
    with kafka_python_admin(bootstrap) as client:
        found = client.describe_configs(
            [ConfigResource(rtype, name)], include_synonyms=True, config_filter="all"
        )
    result: dict[str, dict[str, Any]] = found[kind][name]
    return result


def kafka_default(entry: dict[str, Any], name: str) -> str | None:
    """The value Kafka would use with nothing set: the value itself when it is a default,
    else the setting's own DEFAULT_CONFIG synonym."""
    if entry["config_source"] == "DEFAULT_CONFIG":
        value: str | None = entry["value"]
        return value
    defaults = [s for s in entry["synonyms"] if s["source"] == "DEFAULT_CONFIG"]
    # a broker setting's own default, else (topics) the broker synonym that supplies it
    for syn in sorted(defaults, key=lambda s: s["name"] != name):
        default: str | None = syn["value"]
        return default
    return None


def log_dirs(bootstrap: str) -> list[dict[str, Any]]:
    """The single broker's log dirs as kafka-python reports them."""
    with kafka_python_admin(bootstrap) as client:
        brokers = client.describe_log_dirs()
    assert len(brokers) == 1, brokers
    dirs: list[dict[str, Any]] = brokers[0]["log_dirs"]
    return dirs


def partition_sizes(log_dir: dict[str, Any], topic: str) -> dict[int, int]:
    return {
        p["partition_index"]: p["partition_size"]
        for t in log_dir["topics"]
        if t["name"] == topic
        for p in t["partitions"]
    }


def segment_bytes_on_disk(partition_dir: Path) -> int:
    return sum(f.stat().st_size for f in partition_dir.glob("*.log"))
