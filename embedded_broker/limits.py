"""Size limits of the built-in broker that several modules enforce (one source of truth)."""

from __future__ import annotations

# A single local broker keeps a directory per partition; refuse absurd counts (a hostile request
# for 2^31 partitions would otherwise exhaust the disk and memory). Kafka has no such limit, but
# it runs on many brokers; INVALID_PARTITIONS is the error Kafka uses for a bad count.
MAX_PARTITIONS = 10_000
TOO_MANY_PARTITIONS = (
    f"Number of partitions must not exceed {MAX_PARTITIONS} on the built-in broker."
)
