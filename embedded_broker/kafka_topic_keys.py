"""Topic configs Apache Kafka 4.3.1 reports that the built-in broker does not act on.

DescribeConfigs lists them read-only with Kafka's default and its broker synonym, so a topic's key
set equals Kafka's; a setting the broker implements (topic_configs.TOPIC_CONFIGS) takes precedence.
"""

from __future__ import annotations

from dataclasses import dataclass

BOOLEAN_CODE, INT_CODE, LONG_CODE, DOUBLE_CODE, LIST_CODE = 1, 3, 5, 6, 7

UNUSED_DOC = (
    "Kafka's topic setting, reported with Kafka 4.3.1's default; the built-in broker does not "
    "use it (read-only here)."
)


@dataclass(frozen=True, slots=True)
class KafkaTopicKey:
    name: str
    type_code: int
    default: str
    synonym: str | None  # the broker setting Kafka names as its default's source
    doc: str = UNUSED_DOC


LONG_MAX = "9223372036854775807"

KAFKA_TOPIC_KEYS: tuple[KafkaTopicKey, ...] = (
    KafkaTopicKey("compression.gzip.level", INT_CODE, "-1", "compression.gzip.level"),
    KafkaTopicKey("compression.lz4.level", INT_CODE, "9", "compression.lz4.level"),
    KafkaTopicKey("compression.zstd.level", INT_CODE, "3", "compression.zstd.level"),
    KafkaTopicKey("delete.retention.ms", LONG_CODE, "86400000", "log.cleaner.delete.retention.ms"),
    KafkaTopicKey("flush.messages", LONG_CODE, LONG_MAX, "log.flush.interval.messages"),
    KafkaTopicKey(
        "flush.ms",
        LONG_CODE,
        LONG_MAX,
        None,
        "How often a partition is synced to disk. The built-in broker differs from Kafka here: it "
        "syncs every partition every log.flush.interval.ms (60000 by default) because a single "
        "broker has no replicas to cover a power loss; this reports that broker-wide value.",
    ),
    KafkaTopicKey("follower.replication.throttled.replicas", LIST_CODE, "", None),
    KafkaTopicKey("leader.replication.throttled.replicas", LIST_CODE, "", None),
    KafkaTopicKey("local.retention.bytes", LONG_CODE, "-2", "log.local.retention.bytes"),
    KafkaTopicKey("local.retention.ms", LONG_CODE, "-2", "log.local.retention.ms"),
    KafkaTopicKey(
        "max.compaction.lag.ms", LONG_CODE, LONG_MAX, "log.cleaner.max.compaction.lag.ms"
    ),
    KafkaTopicKey(
        "min.cleanable.dirty.ratio", DOUBLE_CODE, "0.5", "log.cleaner.min.cleanable.ratio"
    ),
    KafkaTopicKey("min.compaction.lag.ms", LONG_CODE, "0", "log.cleaner.min.compaction.lag.ms"),
    KafkaTopicKey("preallocate", BOOLEAN_CODE, "false", "log.preallocate"),
    KafkaTopicKey("remote.log.copy.disable", BOOLEAN_CODE, "false", None),
    KafkaTopicKey("remote.log.delete.on.disable", BOOLEAN_CODE, "false", None),
    KafkaTopicKey("remote.storage.enable", BOOLEAN_CODE, "false", None),
    KafkaTopicKey("segment.index.bytes", INT_CODE, "10485760", "log.index.size.max.bytes"),
    KafkaTopicKey("segment.jitter.ms", LONG_CODE, "0", None),
)
