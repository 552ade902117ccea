"""Topic registry: names, topic ids, partition counts and config overrides, persisted atomically."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from embedded_broker.storage.api import StorageError
from embedded_broker.storage.index import write_atomically

from .registry_file import read_registry

REGISTRY_FILE = "topics.json"
PRODUCER_ID_BLOCK_SIZE = 1000


class RegistryWriteError(StorageError):
    """topics.json could not be written; the change it carried was undone in memory too."""


@dataclass(slots=True)
class TopicInfo:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)
    internal: bool = False


def _new_cluster_id() -> str:
    # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (22 chars).
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class TopicRegistry:
    """In-memory map of topics, written to ``<data_dir>/topics.json`` on every change."""

    def __init__(self, data_dir: Path | None) -> None:
        self._path = data_dir / REGISTRY_FILE if data_dir is not None else None
        self.topics: dict[str, TopicInfo] = {}
        self.by_id: dict[uuid.UUID, TopicInfo] = {}
        self.cluster_id = _new_cluster_id()
        self.broker_dynamic: dict[str, str] = {}
        self.next_producer_id = 1000
        if self._path is not None and self._path.exists():
            self._load(self._path)
        # ids below next_producer_id (the saved value) may have been handed out before a crash;
        # this run hands out ids from there, reserving them a block at a time
        self._unused_producer_id = self.next_producer_id

    def _load(self, path: Path) -> None:
        # Checked field by field: a damaged file raises DamagedFileError naming it.
        data = read_registry(path)
        self.cluster_id = str(data.get("cluster_id", self.cluster_id))
        self.broker_dynamic = data["broker_dynamic"]
        self.next_producer_id = int(data.get("next_producer_id", self.next_producer_id))
        for raw in data["topics"]:
            info = TopicInfo(
                name=raw["name"],
                topic_id=raw["topic_id"],
                partitions=raw["partitions"],
                configs=raw["configs"],
                internal=raw["internal"],
            )
            self.topics[info.name] = info
            self.by_id[info.topic_id] = info

    def save(self) -> None:
        """Write topics.json atomically (temp file, fsync, rename, fsync of the directory).

        Raises RegistryWriteError (a full disk, say); the old file is then left as it was."""
        if self._path is None:
            return
        data = {
            "cluster_id": self.cluster_id,
            "broker_dynamic": self.broker_dynamic,
            "next_producer_id": self.next_producer_id,
            "topics": [
                {
                    "name": t.name,
                    "topic_id": str(t.topic_id),
                    "partitions": t.partitions,
                    "configs": t.configs,
                    "internal": t.internal,
                }
                for t in self.topics.values()
            ],
        }
        text = json.dumps(data, indent=1, sort_keys=True)
        try:
            write_atomically(self._path, text.encode("utf-8"))
        except OSError as exc:
            raise RegistryWriteError(
                f"Could not save the topic list {self._path} ({exc.strerror or exc}); "
                "the change was not made. Free disk space (or fix the directory's permissions) "
                "and try again."
            ) from exc

    def add(
        self,
        name: str,
        partitions: int,
        configs: dict[str, str],
        internal: bool,
        topic_id: uuid.UUID | None = None,
    ) -> TopicInfo:
        """Add a topic and save; if saving fails the topic is not added (RegistryWriteError).

        ``topic_id``: the id the cluster's controller gave it (default: a new one)."""
        info = TopicInfo(name, topic_id or uuid.uuid4(), partitions, dict(configs), internal)
        replaced = self.topics.get(name)
        self.topics[name] = info
        self.by_id[info.topic_id] = info
        try:
            self.save()
        except RegistryWriteError:
            del self.by_id[info.topic_id]
            if replaced is None:
                del self.topics[name]
            else:
                self.topics[name] = replaced
            raise
        return info

    def remove(self, name: str) -> TopicInfo | None:
        """Remove a topic and save; if saving fails it stays (RegistryWriteError)."""
        info = self.topics.pop(name, None)
        if info is not None:
            self.by_id.pop(info.topic_id, None)
            try:
                self.save()
            except RegistryWriteError:
                self.topics[name] = info
                self.by_id[info.topic_id] = info
                raise
        return info

    def allocate_producer_id(self) -> int:
        """A producer id never handed out before, even across a killed broker.

        Ids are reserved in blocks (as Kafka's ProducerIdManager does): the end of the block is
        saved before its first id is used, so the file is written once per block, not per id.
        """
        pid = self._unused_producer_id
        if pid >= self.next_producer_id:
            reserved = self.next_producer_id
            self.next_producer_id = pid + PRODUCER_ID_BLOCK_SIZE
            try:
                self.save()
            except BaseException:
                self.next_producer_id = reserved  # not reserved on disk: not handed out
                raise
        self._unused_producer_id = pid + 1
        return pid


_LEGAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
MAX_TOPIC_NAME_LENGTH = 249


def topic_name_error(name: str) -> str | None:
    """Kafka's topic name rules; returns Kafka's message for an illegal name, else None."""
    if not name:
        return "Topic name is illegal, it can't be empty"
    if name in (".", ".."):
        return 'Topic name cannot be "." or ".."'
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        return (
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, "
            f"topic name: {name}"
        )
    if not set(name) <= _LEGAL_CHARS:
        return (
            f'Topic name "{name}" is illegal, it contains a character other than '
            "ASCII alphanumerics, '.', '_' and '-'"
        )
    return None
