"""Per-partition log settings (segment roll, retention, indexing) with Kafka's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

CREATE_TIME = "CreateTime"
LOG_APPEND_TIME = "LogAppendTime"

# Kafka topic config name -> LogConfig field name
KAFKA_NAMES: dict[str, str] = {
    "segment.bytes": "segment_bytes",
    "segment.ms": "segment_ms",
    "retention.ms": "retention_ms",
    "retention.bytes": "retention_bytes",
    "index.interval.bytes": "index_interval_bytes",
    "message.timestamp.type": "message_timestamp_type",
    "cleanup.policy": "cleanup_policy",
    "delete.retention.ms": "delete_retention_ms",
    "min.compaction.lag.ms": "min_compaction_lag_ms",
    "max.compaction.lag.ms": "max_compaction_lag_ms",
    "min.cleanable.dirty.ratio": "min_cleanable_dirty_ratio",
}
_FLOAT_FIELDS = frozenset({"min_cleanable_dirty_ratio"})


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Settings that change how a partition log is stored; -1 means unlimited for retention."""

    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    retention_ms: int = 604800000
    retention_bytes: int = -1
    index_interval_bytes: int = 4096
    message_timestamp_type: str = CREATE_TIME
    cleanup_policy: str = "delete"
    # compaction (cleanup.policy=compact): see cleaner.py
    delete_retention_ms: int = 86400000
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = 9223372036854775807
    min_cleanable_dirty_ratio: float = 0.5

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == LOG_APPEND_TIME

    @property
    def compacted(self) -> bool:
        return "compact" in self.cleanup_policy.split(",")

    @property
    def roll_ms(self) -> int:
        """segment.ms, or max.compaction.lag.ms when that is shorter on a compacted topic (the
        active segment is never cleaned, so it must roll for the lag bound to hold)."""
        if self.compacted and 0 < self.max_compaction_lag_ms < self.segment_ms:
            return self.max_compaction_lag_ms
        return self.segment_ms

    def with_kafka_configs(self, configs: Mapping[str, str | None]) -> LogConfig:
        """A copy with the recognised Kafka topic configs applied (others are ignored).

        A None value resets that setting to this LogConfig's value (keeps it). Raises ValueError
        with the config name for a value that does not parse.
        """
        changes: dict[str, object] = {}
        for name, value in configs.items():
            field = KAFKA_NAMES.get(name)
            if field is None or value is None:
                continue
            if field in ("message_timestamp_type", "cleanup_policy"):
                changes[field] = value
                continue
            try:
                changes[field] = float(value) if field in _FLOAT_FIELDS else int(value)
            except ValueError:
                raise ValueError(f"{name} must be a number, got {value!r}") from None
        return replace(self, **changes)  # type: ignore[arg-type]
