"""MetadataImage: the cluster as the metadata log describes it, built by replaying records."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace

from .records import (
    AclRecord,
    ConfigRecord,
    FenceBroker,
    MetadataRecord,
    PartitionChange,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBroker,
    RemoveAclRecord,
    RemoveTopic,
    RemoveUserScramCredentialRecord,
    TopicRecord,
    UnfenceBroker,
    UserScramCredentialRecord,
)

FIRST_PRODUCER_ID = 1000  # as a single node's registry starts
TOPIC_RESOURCE = 2
BROKER_RESOURCE = 4


@dataclass(frozen=True, slots=True)
class BrokerImage:
    broker_id: int
    host: str
    port: int
    rack: str | None
    incarnation_id: str
    epoch: int  # the offset of its registration record, as KRaft's broker epoch
    fenced: bool = True


@dataclass(frozen=True, slots=True)
class PartitionImage:
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int
    leader_epoch: int
    partition_epoch: int
    adding: tuple[int, ...] = ()  # a reassignment in progress
    removing: tuple[int, ...] = ()

    @property
    def reassigning(self) -> bool:
        return bool(self.adding or self.removing)


@dataclass(slots=True)
class TopicImage:
    name: str
    topic_id: uuid.UUID
    partitions: dict[int, PartitionImage] = field(default_factory=dict)


class MetadataImage:
    """Brokers, topics, partitions and configs; ``replay`` is the only way it changes, used
    both when loading the log and for each record appended or fetched live."""

    def __init__(self) -> None:
        self.offset = -1  # offset of the last record replayed
        self.brokers: dict[int, BrokerImage] = {}
        self.topics: dict[str, TopicImage] = {}
        self.by_id: dict[uuid.UUID, TopicImage] = {}
        self.configs: dict[tuple[int, str], dict[str, str]] = {}
        self.next_producer_id = FIRST_PRODUCER_ID  # the start of the next block handed out
        self.acls: set[AclRecord] = set()
        self.scram: dict[tuple[str, int], UserScramCredentialRecord] = {}  # (user, mechanism)

    def replay(self, offset: int, record: MetadataRecord) -> None:
        self.offset = offset
        if isinstance(record, RegisterBroker):
            self.brokers[record.broker_id] = BrokerImage(
                record.broker_id,
                record.host,
                record.port,
                record.rack,
                record.incarnation_id,
                epoch=offset,
            )
        elif isinstance(record, FenceBroker | UnfenceBroker):
            broker = self.brokers.get(record.broker_id)
            if broker is not None and broker.epoch == record.epoch:
                fenced = isinstance(record, FenceBroker)
                self.brokers[record.broker_id] = replace(broker, fenced=fenced)
        elif isinstance(record, TopicRecord):
            topic = TopicImage(record.name, record.topic_id)
            self.topics[record.name] = topic
            self.by_id[record.topic_id] = topic
        elif isinstance(record, PartitionRecord):
            topic_image = self.by_id.get(record.topic_id)
            if topic_image is not None:
                topic_image.partitions[record.partition] = PartitionImage(
                    record.replicas,
                    record.isr,
                    record.leader,
                    record.leader_epoch,
                    record.partition_epoch,
                    record.adding,
                    record.removing,
                )
        elif isinstance(record, PartitionChange):
            self._change(record)
        elif isinstance(record, RemoveTopic):
            removed = self.by_id.pop(record.topic_id, None)
            if removed is not None:
                self.topics.pop(removed.name, None)
                self.configs.pop((TOPIC_RESOURCE, removed.name), None)
        elif isinstance(record, ConfigRecord):
            key = (record.resource_type, record.resource_name)
            values = self.configs.setdefault(key, {})
            if record.value is None:
                values.pop(record.name, None)
            else:
                values[record.name] = record.value
        elif isinstance(record, ProducerIdsRecord):
            self.next_producer_id = max(self.next_producer_id, record.next_producer_id)
        elif isinstance(record, AclRecord):
            self.acls.add(record)
        elif isinstance(record, RemoveAclRecord):
            self.acls.discard(AclRecord(**asdict(record)))
        elif isinstance(record, UserScramCredentialRecord):
            self.scram[(record.name, record.mechanism)] = record
        elif isinstance(record, RemoveUserScramCredentialRecord):
            self.scram.pop((record.name, record.mechanism), None)

    def _change(self, record: PartitionChange) -> None:
        topic = self.by_id.get(record.topic_id)
        old = topic.partitions.get(record.partition) if topic is not None else None
        if topic is None or old is None:
            return
        leader = old.leader if record.leader is None else record.leader
        topic.partitions[record.partition] = PartitionImage(
            replicas=old.replicas if record.replicas is None else record.replicas,
            isr=old.isr if record.isr is None else record.isr,
            leader=leader,
            leader_epoch=old.leader_epoch + (1 if leader != old.leader else 0),
            partition_epoch=old.partition_epoch + 1,
            adding=old.adding if record.adding is None else record.adding,
            removing=old.removing if record.removing is None else record.removing,
        )

    # -- queries ----------------------------------------------------------------------------
    def live_brokers(self) -> list[BrokerImage]:
        """Registered, unfenced brokers by id: the ones Metadata lists."""
        return sorted((b for b in self.brokers.values() if not b.fenced), key=lambda b: b.broker_id)

    def is_live(self, broker_id: int) -> bool:
        broker = self.brokers.get(broker_id)
        return broker is not None and not broker.fenced

    def offline_replicas(self, part: PartitionImage) -> tuple[int, ...]:
        return tuple(r for r in part.replicas if not self.is_live(r))

    def topic_configs(self, name: str) -> dict[str, str]:
        return dict(self.configs.get((TOPIC_RESOURCE, name), {}))
