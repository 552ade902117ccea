"""Preferred leader election through AdminClient.elect_leaders (Kafka's ElectLeaders API)."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from desktop.domain.cluster import PartitionInfo
from desktop.domain.election import ElectionMove, ElectionOutcome, preferred_moves
from desktop.services.admin import ClusterAdmin, KafkaServiceError


def election_preview(admin: ClusterAdmin) -> list[ElectionMove]:
    """From fresh metadata (not the last snapshot): what a preferred election would move."""
    try:
        md = admin.metadata()
    except KafkaException as exc:
        raise admin.service_error(exc) from exc
    parts = [
        PartitionInfo(name, pid, p.leader, tuple(p.replicas), tuple(p.isrs))
        for name, t in md.topics.items()
        for pid, p in t.partitions.items()
    ]
    return preferred_moves(parts)


def elect_preferred(admin: ClusterAdmin, moves: list[ElectionMove]) -> list[ElectionOutcome]:
    """Elect the preferred leader of each partition previewed as eligible."""
    wanted = [m for m in moves if m.eligible]
    if not wanted:
        return []
    elect = getattr(admin.client, "elect_leaders", None)
    if elect is None:  # confluent-kafka before 2.6
        raise KafkaServiceError(
            "This build's confluent-kafka has no elect_leaders; run kafka-leader-election "
            "--election-type PREFERRED --all-topic-partitions instead."
        )
    from confluent_kafka import ElectionType

    parts = [TopicPartition(m.topic, m.partition) for m in wanted]
    # no request_timeout / operation_timeout: confluent-kafka 2.16's C binding rejects both
    # ("more argument specifiers than keyword list entries"); admin.wait holds the deadline
    result = admin.wait(elect(ElectionType.PREFERRED, parts))
    return [
        ElectionOutcome(tp.topic, tp.partition, None if err is None else _error_text(err))
        for tp, err in sorted(result.items(), key=lambda kv: (kv[0].topic, kv[0].partition))
    ]


def _error_text(err: BaseException) -> str | None:
    inner = err.args[0] if err.args else None
    if isinstance(inner, KafkaError):
        # already on the preferred replica: what was asked for
        if inner.name() == "ELECTION_NOT_NEEDED":
            return None
        return f"{inner.name()}: {inner.str()}"
    return str(err) or type(err).__name__
