"""Topic-level settings by their Kafka names: defaults come from broker synonyms, as in Kafka."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .config import (
    BOOLEAN,
    BROKER_CONFIGS,
    DOUBLE,
    INT,
    LIST,
    LONG,
    STRING,
    BrokerConfig,
    ConfigDef,
    ConfigError,
    at_least,
    double_between,
    list_of,
    one_of,
    validate_value,
)


@dataclass(frozen=True, slots=True)
class TopicConfigDef:
    definition: ConfigDef
    synonyms: tuple[str, ...]  # broker settings that supply the default, most specific first


def _topic(
    name: str,
    type_: str,
    default: str,
    doc: str,
    synonyms: tuple[str, ...],
    *,
    validator: Callable[[str], str | None] | None = None,
) -> TopicConfigDef:
    return TopicConfigDef(
        ConfigDef(name, type_, default, doc, validator),
        synonyms,
    )


TOPIC_CONFIGS: dict[str, TopicConfigDef] = {
    t.definition.name: t
    for t in (
        _topic(
            "cleanup.policy",
            LIST,
            "delete",
            "delete or compact",
            ("log.cleanup.policy",),
            validator=list_of("delete", "compact"),
        ),
        _topic(
            "compression.type",
            STRING,
            "producer",
            "Compression of stored batches (producer keeps what the producer sent).",
            ("compression.type",),
            validator=one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
        ),
        _topic(
            "file.delete.delay.ms",
            LONG,
            "60000",
            "Delay before deleting a file.",
            ("log.segment.delete.delay.ms",),
            validator=at_least(0),
        ),
        _topic(
            "index.interval.bytes",
            INT,
            "4096",
            "Bytes between offset index entries.",
            ("log.index.interval.bytes",),
            validator=at_least(0),
        ),
        _topic(
            "max.message.bytes",
            INT,
            "1048588",
            "Largest record batch size.",
            ("message.max.bytes",),
            validator=at_least(0),
        ),
        _topic(
            "message.timestamp.type",
            STRING,
            "CreateTime",
            "CreateTime or LogAppendTime.",
            ("log.message.timestamp.type",),
            validator=one_of("CreateTime", "LogAppendTime"),
        ),
        _topic(
            "message.timestamp.before.max.ms",
            LONG,
            "9223372036854775807",
            "Largest allowed age of a CreateTime record timestamp when it arrives.",
            ("log.message.timestamp.before.max.ms",),
            validator=at_least(0),
        ),
        _topic(
            "message.timestamp.after.max.ms",
            LONG,
            "9223372036854775807",
            "Largest allowed distance of a CreateTime record timestamp into the future.",
            ("log.message.timestamp.after.max.ms",),
            validator=at_least(0),
        ),
        _topic(
            "min.insync.replicas",
            INT,
            "1",
            "Minimum in-sync replicas for acks=all.",
            ("min.insync.replicas",),
            validator=at_least(1),
        ),
        _topic(
            "retention.bytes",
            LONG,
            "-1",
            "Maximum partition size before old segments are deleted.",
            ("log.retention.bytes",),
        ),
        _topic(
            "retention.ms",
            LONG,
            "604800000",
            "Maximum age of a segment before it is deleted.",
            ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
            validator=at_least(-1),
        ),
        _topic(
            "segment.bytes",
            INT,
            "1073741824",
            "Segment file size.",
            ("log.segment.bytes",),
            validator=at_least(14),
        ),
        _topic(
            "segment.ms",
            LONG,
            "604800000",
            "Time after which a segment is rolled.",
            ("log.roll.ms", "log.roll.hours"),
            validator=at_least(1),
        ),
        # --- log compaction (storage/cleaner.py) ---
        _topic(
            "delete.retention.ms",
            LONG,
            "86400000",
            "How long tombstones (and transaction markers) stay after their segment is cleaned.",
            ("log.cleaner.delete.retention.ms",),
            validator=at_least(0),
        ),
        _topic(
            "min.compaction.lag.ms",
            LONG,
            "0",
            "The youngest a record may be and still be compacted.",
            ("log.cleaner.min.compaction.lag.ms",),
            validator=at_least(0),
        ),
        _topic(
            "max.compaction.lag.ms",
            LONG,
            "9223372036854775807",
            "The oldest a record may get before it is compacted, whatever the dirty ratio.",
            ("log.cleaner.max.compaction.lag.ms",),
            validator=at_least(1),
        ),
        _topic(
            "min.cleanable.dirty.ratio",
            DOUBLE,
            "0.5",
            "The share of uncleaned bytes at which a compacted partition is cleaned.",
            ("log.cleaner.min.cleanable.ratio",),
            validator=double_between(0.0, 1.0),
        ),
        _topic(
            "unclean.leader.election.enable",
            BOOLEAN,
            "false",
            "Single broker: trivially honoured.",
            ("unclean.leader.election.enable",),
        ),
    )
}


def validate_topic_configs(configs: Mapping[str, str | None]) -> dict[str, str]:
    """Validate topic overrides; raise ConfigError naming the bad setting."""
    out: dict[str, str] = {}
    for name, value in configs.items():
        entry = TOPIC_CONFIGS.get(name)
        if entry is None:
            raise ConfigError(f"Unknown topic config name: {name}")
        if value is None:
            raise ConfigError(f"Invalid value null for configuration {name}")
        out[name] = validate_value(entry.definition, value)
    return out


def broker_default(name: str, broker: BrokerConfig) -> tuple[str, str, str]:
    """Effective broker-level value for a topic config: (value, source, broker setting name)."""
    entry = TOPIC_CONFIGS[name]
    if name == "retention.ms":
        for syn in entry.synonyms:
            if broker.source(syn) != "DEFAULT_CONFIG":
                return str(broker.retention_ms()), broker.source(syn), syn
        return entry.definition.default or "", "DEFAULT_CONFIG", "log.retention.hours"
    if name == "segment.ms":
        for syn in entry.synonyms:
            if broker.source(syn) != "DEFAULT_CONFIG":
                return str(broker.roll_ms()), broker.source(syn), syn
        return entry.definition.default or "", "DEFAULT_CONFIG", "log.roll.hours"
    syn = entry.synonyms[0]
    value = broker.value(syn)
    return (value if value is not None else entry.definition.default or ""), broker.source(syn), syn


def effective_topic_config(overrides: Mapping[str, str], broker: BrokerConfig) -> dict[str, str]:
    """Every topic config with the value in force: override, else broker setting, else default."""
    out: dict[str, str] = {}
    for name in TOPIC_CONFIGS:
        out[name] = overrides[name] if name in overrides else broker_default(name, broker)[0]
    return out


assert all(s in BROKER_CONFIGS for t in TOPIC_CONFIGS.values() for s in t.synonyms)
