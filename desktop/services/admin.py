"""Cluster administration over confluent-kafka's AdminClient, in domain objects."""

from __future__ import annotations

import concurrent.futures
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

# confluent-kafka's admin package re-exports these without __all__; import their homes
from confluent_kafka.admin._config import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
)
from confluent_kafka.admin._listoffsets import OffsetSpec
from confluent_kafka.admin._metadata import ClusterMetadata
from confluent_kafka.cimpl import NewPartitions, NewTopic

from desktop.domain.cluster import (
    BrokerInfo,
    ClusterSnapshot,
    ConfigEntryInfo,
    PartitionInfo,
    TopicInfo,
)
from desktop.domain.profile import ClusterProfile, Credentials, SecurityProtocol
from desktop.services.cancel import NEVER, CancelToken
from desktop.services.connection import ErrorLog, client_config, explain
from desktop.services.versions import api_versions, describe_generation

# Requests stay small: confluent-kafka builds each response's Python objects while holding the
# GIL, and a big response would stall the GUI thread for that long.
CHUNK = 500  # partitions per ListOffsets request
CONFIG_CHUNK = 200  # topics per DescribeConfigs request
CONFIG_BATCH = 2000  # topics whose configs are fetched per refresh
BUILTIN_VERSION = "Topicscope built-in"
# librdkafka's list_topics cannot be interrupted: it is called in slices at least this long,
# looking at the job's token between them
METADATA_SLICE_S = 1.0


class KafkaServiceError(Exception):
    """A failure already phrased for the user."""


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_SOURCE_NAMES = {
    ConfigSource.DYNAMIC_TOPIC_CONFIG: "topic override",
    ConfigSource.DYNAMIC_BROKER_CONFIG: "dynamic broker",
    ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG: "dynamic cluster default",
    ConfigSource.STATIC_BROKER_CONFIG: "static broker (server.properties)",
    ConfigSource.DEFAULT_CONFIG: "default",
    ConfigSource.UNKNOWN_CONFIG: "unknown",
}


def _config_info(entry: ConfigEntry) -> ConfigEntryInfo:
    default_value: str | None = None
    for syn in (entry.synonyms or {}).values():
        if syn.source in (ConfigSource.DEFAULT_CONFIG.value, ConfigSource.DEFAULT_CONFIG):
            default_value = syn.value
    source = ConfigSource(entry.source) if isinstance(entry.source, int) else entry.source
    return ConfigEntryInfo(
        name=entry.name,
        value=entry.value,
        source=_SOURCE_NAMES.get(source, str(source)),
        is_default=bool(entry.is_default),
        read_only=bool(entry.is_read_only),
        sensitive=bool(entry.is_sensitive),
        default_value=default_value
        if default_value is not None
        else (entry.value if entry.is_default else None),
    )


class ClusterAdmin:
    """One AdminClient per cluster; every call blocks with a timeout (run it off the GUI thread)."""

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        timeout: float = 10.0,
        client_id: str = "topicscope",
    ) -> None:
        self.profile = profile
        self.timeout = timeout
        self.client_id = client_id  # per lane, so a broker's logs tell refreshes from actions
        self._creds = creds
        self._log = ErrorLog()
        self._admin = self._make_admin()
        self._topic_meta: dict[str, tuple[str, int]] = {}  # name -> (cleanup.policy, min ISR)
        self._seen_offsets = False
        self._metadata_s: float | None = None  # how long the last metadata answer took
        self._version: str | None = None
        self.token: CancelToken = NEVER  # the running job's: every wait below looks at it

    def _make_admin(self) -> AdminClient:
        conf = client_config(self.profile, self._creds)
        conf["error_cb"] = self._log
        conf.setdefault("client.id", self.client_id)
        return AdminClient(conf)

    def reconnect(self) -> None:
        self._log.clear()
        self._admin = self._make_admin()

    # ---- for services built on this one (groups): the client, secrets and error mapping ----

    @property
    def client(self) -> AdminClient:
        return self._admin

    @property
    def creds(self) -> Credentials:
        return self._creds

    def service_error(self, exc: BaseException) -> KafkaServiceError:
        """The user-readable error for a failed call, with what librdkafka logged about it."""
        self._admin.poll(0)
        return KafkaServiceError(explain(exc, self._log.snapshot(), self.profile.bootstrap))

    def wait(self, fut: concurrent.futures.Future[Any]) -> Any:
        """A request's result within the timeout, or a KafkaServiceError."""
        try:
            return self.token.result(fut, self.timeout + 2)
        except concurrent.futures.TimeoutError as exc:
            raise self.service_error(TimeoutError("Request timed out")) from exc
        except KafkaException as exc:
            raise self.service_error(exc) from exc

    def metadata(self, topic: str | None = None) -> ClusterMetadata:
        """list_topics within the timeout, ending within a slice when the job is cancelled.

        One call for the whole timeout kept a cancelled or abandoned job's thread (and its
        client) in librdkafka for up to 10 s after the job had ended. A slice is three times
        the last answer's time (at least 1 s); one that times out asks again for twice as long.
        The first call, with no answer to go by, waits the whole timeout: a broker answers a
        connection's requests in order, so a slice too short for a big cluster's metadata
        would queue each new request behind the one it gave up on, and never succeed."""
        end = time.monotonic() + self.sync_timeout()
        last = self._metadata_s
        slice_s = end - time.monotonic() if last is None else max(METADATA_SLICE_S, 3 * last)
        while True:
            self.token.check()
            left = end - time.monotonic()
            started = time.monotonic()
            try:
                md = self._admin.list_topics(topic, timeout=max(0.1, min(slice_s, left)))
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                timed_out = isinstance(err, KafkaError) and err.code() == KafkaError._TIMED_OUT
                if not timed_out or end - time.monotonic() <= 0:
                    raise
                slice_s *= 2
                continue
            self._metadata_s = time.monotonic() - started
            return md

    def sync_timeout(self) -> float:
        """For librdkafka's synchronous calls (no future to watch): at most the job's time left."""
        left = self.token.remaining()
        return self.timeout if left is None else max(0.1, min(self.timeout, left))

    # ---- reading -------------------------------------------------------------------------

    def snapshot(
        self,
        progress: Callable[[ClusterSnapshot], None] | None = None,
        down: frozenset[int] = frozenset(),
    ) -> ClusterSnapshot:
        """Metadata, watermarks (in bulk), topic configs and group count in one snapshot.

        `down`: brokers the liveness probe finds dead. The metadata still names them as leaders
        until the controller fences them; asking them for watermarks (or every broker for its
        groups) waited out the request timeout, so a refresh took 30 s just when it mattered.
        Their partitions' watermarks are left unknown (a gap in the charts) and the group count
        too.

        On the first call `progress` receives an early snapshot built from metadata alone, so a
        big cluster's topic list shows while its watermarks are still on the way.
        """
        try:
            md = self.metadata()
        except KafkaException as exc:
            raise self.service_error(exc) from exc
        racks: dict[int, str | None] = {}
        try:
            desc = self.token.result(
                self._admin.describe_cluster(request_timeout=self.timeout), self.timeout + 2
            )
            racks = {n.id: n.rack for n in desc.nodes}
        except Exception:
            pass  # older or minimal brokers: racks stay unknown
        brokers = tuple(
            BrokerInfo(b.id, str(b.host), int(b.port), racks.get(b.id))
            for b in sorted(md.brokers.values(), key=lambda b: b.id)
        )
        names = sorted(md.topics)
        first = not self._seen_offsets
        if first and progress is not None:
            progress(
                self._build(
                    md, brokers=brokers, names=names, low={}, high={}, groups=None, complete=False
                )
            )
        parts: list[TopicPartition] = [
            TopicPartition(name, pid)
            for name in names
            for pid, p in md.topics[name].partitions.items()
            if p.leader not in down
        ]
        low = self._offsets(parts, OffsetSpec.earliest())  # type: ignore[no-untyped-call]
        high = self._offsets(parts, OffsetSpec.latest())  # type: ignore[no-untyped-call]
        self._seen_offsets = True
        missing = [n for n in names if n not in self._topic_meta]
        # configs of new topics arrive over a few refreshes, so one refresh stays short
        self._load_topic_meta(missing[:CONFIG_BATCH])
        groups: int | None = None
        if not down:
            try:
                listed = self._admin.list_consumer_groups(request_timeout=self.timeout)
                groups = len(self.token.result(listed, self.timeout + 2).valid)
            except Exception:
                groups = None
        # its health summary is computed by the caller, on the worker thread, once the sizes
        # on disk are merged in (the merged snapshot is the one shown)
        return self._build(
            md,
            brokers=brokers,
            names=names,
            low=low,
            high=high,
            groups=groups,
            complete=len(missing) <= CONFIG_BATCH,
        )

    def _build(
        self,
        md: Any,
        *,
        brokers: tuple[BrokerInfo, ...],
        names: list[str],
        low: dict[tuple[str, int], int],
        high: dict[tuple[str, int], int],
        groups: int | None,
        complete: bool,
    ) -> ClusterSnapshot:
        topics: list[TopicInfo] = []
        for name in names:
            tmd = md.topics[name]
            pinfos = tuple(
                PartitionInfo(
                    topic=name,
                    partition=p.id,
                    leader=p.leader,
                    replicas=tuple(p.replicas),
                    isr=tuple(p.isrs),
                    low=low.get((name, p.id)),
                    high=high.get((name, p.id)),
                )
                for p in sorted(tmd.partitions.values(), key=lambda p: p.id)
            )
            policy, min_isr = self._topic_meta.get(name, ("", 1))
            topics.append(
                TopicInfo(
                    name=name,
                    partitions=pinfos,
                    internal=name.startswith("__"),
                    cleanup_policy=policy,
                    min_isr=min_isr,
                )
            )
        return ClusterSnapshot(
            cluster_id=str(md.cluster_id or ""),
            controller_id=int(md.controller_id),
            brokers=brokers,
            topics=tuple(topics),
            group_count=groups,
            fetched_at=time.time(),
            version=self._version_of(brokers),
            complete=complete,
        )

    def _version_of(self, brokers: tuple[BrokerInfo, ...]) -> str:
        if self.profile.local:
            return BUILTIN_VERSION
        if self._version is None:
            self._version = ""
            if self.profile.security_protocol == SecurityProtocol.PLAINTEXT and brokers:
                try:
                    b = brokers[0]
                    self._version = describe_generation(api_versions(b.host, b.port))
                except (OSError, ValueError, struct.error):
                    pass  # unknown: the overview says so
        return self._version

    def _offsets(self, parts: list[TopicPartition], spec: OffsetSpec) -> dict[tuple[str, int], int]:
        out: dict[tuple[str, int], int] = {}
        for chunk in _chunks(parts, CHUNK):
            try:
                futs = self._admin.list_offsets(
                    {tp: spec for tp in chunk}, request_timeout=self.timeout
                )
            except KafkaException:
                continue
            for tp, fut in futs.items():
                try:
                    res = self.token.result(fut, self.timeout + 2)
                except Exception:
                    continue  # leaderless partition: watermark unknown
                out[(tp.topic, tp.partition)] = int(res.offset)
        return out

    def _load_topic_meta(self, names: list[str]) -> None:
        for chunk in _chunks(names, CONFIG_CHUNK):
            resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in chunk]
            try:
                futs = self._admin.describe_configs(resources, request_timeout=self.timeout)
            except KafkaException:
                continue
            for res, fut in futs.items():
                try:
                    entries = self.token.result(fut, self.timeout + 2)
                except Exception:
                    continue
                policy = entries.get("cleanup.policy")
                min_isr = entries.get("min.insync.replicas")
                try:
                    isr_value = int(min_isr.value) if min_isr and min_isr.value else 1
                except ValueError:
                    isr_value = 1
                self._topic_meta[res.name] = (
                    (policy.value or "") if policy else "",
                    isr_value,
                )

    def topic_configs(self, topic: str) -> list[ConfigEntryInfo]:
        return self._configs(ConfigResource(ConfigResource.Type.TOPIC, topic))

    def broker_configs(self, broker_id: int) -> list[ConfigEntryInfo]:
        return self._configs(ConfigResource(ConfigResource.Type.BROKER, str(broker_id)))

    def _configs(self, resource: ConfigResource) -> list[ConfigEntryInfo]:
        try:
            futs = self._admin.describe_configs([resource], request_timeout=self.timeout)
        except KafkaException as exc:
            raise self.service_error(exc) from exc
        entries: Mapping[str, ConfigEntry] = self.wait(futs[resource])
        return sorted((_config_info(e) for e in entries.values()), key=lambda c: c.name)

    # ---- writing -------------------------------------------------------------------------

    def create_topic(
        self, name: str, partitions: int, replication: int, configs: Mapping[str, str]
    ) -> None:
        topic = NewTopic(name, partitions, replication, config=dict(configs))
        futs = self._admin.create_topics([topic], request_timeout=self.timeout)
        self.wait(futs[name])

    def delete_topic(self, name: str) -> None:
        futs = self._admin.delete_topics([name], request_timeout=self.timeout)
        self.wait(futs[name])
        self._topic_meta.pop(name, None)

    def add_partitions(self, name: str, new_total: int) -> None:
        futs = self._admin.create_partitions(
            [NewPartitions(name, new_total)], request_timeout=self.timeout
        )
        self.wait(futs[name])

    def empty_topic(self, topic: TopicInfo) -> int:
        """Delete every record below the high watermark; returns the partitions emptied."""
        parts = [
            TopicPartition(topic.name, p.partition, p.high)
            for p in topic.partitions
            if p.high is not None and p.high > (p.low or 0)
        ]
        if not parts:
            return 0
        futs = self._admin.delete_records(parts, request_timeout=self.timeout)
        for fut in futs.values():
            self.wait(fut)
        return len(parts)

    def set_topic_config(self, topic: str, name: str, value: str | None) -> None:
        self._alter(ConfigResource(ConfigResource.Type.TOPIC, topic), name, value)
        self._topic_meta.pop(topic, None)

    def set_broker_config(self, broker_id: int, name: str, value: str | None) -> None:
        self._alter(ConfigResource(ConfigResource.Type.BROKER, str(broker_id)), name, value)

    def _alter(self, resource: ConfigResource, name: str, value: str | None) -> None:
        op = AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET
        entry = ConfigEntry(name, value, incremental_operation=op)
        res = ConfigResource(resource.restype, resource.name, incremental_configs=[entry])
        futs = self._admin.incremental_alter_configs([res], request_timeout=self.timeout)
        for fut in futs.values():
            self.wait(fut)
