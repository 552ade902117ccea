"""Send messages as the producer form configures them, and predict where a key will land."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource

from desktop.domain.messages import BulkProgress, DeliveryReport, ProduceRequest
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.cancel import NEVER, CancelToken
from desktop.services.connection import ErrorLog, client_config, explain

COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
ACKS = ("all", "1", "0")
ACKS_HELP = {
    "all": "all: the leader answers once every in-sync replica has the message "
    "(needs at least min.insync.replicas in sync)",
    "1": "1: the leader answers once it has written the message; a replica may not have it yet",
    "0": "0: no answer is awaited; the message may be lost and no offset is reported",
}
# message.timeout.ms for the form: a send that cannot succeed says why within seconds, not
# after librdkafka's default of 5 minutes (or the 15 s this form once waited)
FORM_TIMEOUT_S = 8.0
DIAGNOSE_TIMEOUT_S = 2.0
PARTITIONERS = {
    "consistent_random": "librdkafka default: CRC32 of the key; null and empty keys random",
    "murmur2_random": "Java client's default: murmur2 of the key; null keys random",
}
DEFAULT_PARTITIONER = "consistent_random"


def murmur2(data: bytes) -> int:
    """The Java client's 32-bit murmur2 (seed 0x9747b28c), as an unsigned int."""
    m = 0x5BD1E995
    mask = 0xFFFFFFFF
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def predict_partition(key: bytes | None, partitions: int, partitioner: str) -> int | None:
    """The partition the configured partitioner picks for `key`; None when it picks at random."""
    if partitions <= 0 or key is None:
        return None
    if partitioner == "murmur2_random":
        return (murmur2(key) & 0x7FFFFFFF) % partitions
    if partitioner == "consistent_random":
        if not key:
            return None
        return zlib.crc32(key) % partitions
    raise ValueError(f"Unknown partitioner {partitioner!r}")


@dataclass(frozen=True)
class ProducerSettings:
    compression: str = "none"
    acks: str = "all"
    idempotence: bool = False
    partitioner: str = DEFAULT_PARTITIONER
    linger_ms: int = 5
    # message.timeout.ms; None: the form's FORM_TIMEOUT_S (the self-test waits out a leader move)
    delivery_timeout_s: float | None = None

    def config(self) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "compression.type": self.compression,
            "acks": "all" if self.idempotence else self.acks,
            "enable.idempotence": self.idempotence,
            # explicit, so the form's prediction and the client agree
            "partitioner": self.partitioner,
            "linger.ms": self.linger_ms,
        }
        return conf


class ProduceError(Exception):
    """A send failed; the text is for the user."""


@dataclass(frozen=True)
class PartitionHealth:
    """What the cluster says about one partition when a send to it failed."""

    topic: str
    partition: int
    leader: int  # -1: no leader
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    min_isr: int | None  # None: the topic's config could not be read

    @property
    def effective_min_isr(self) -> int | None:
        # Kafka caps min.insync.replicas at the replication factor
        return None if self.min_isr is None else min(self.min_isr, len(self.replicas))

    @property
    def below_min_isr(self) -> bool:
        need = self.effective_min_isr
        return need is not None and len(self.isr) < need


def _ids(ids: tuple[int, ...]) -> str:
    return ", ".join(map(str, ids)) if ids else "none"


def failure_text(
    code: str, text: str, acks: str, health: PartitionHealth | None, timeout_s: float
) -> str:
    """Why a send failed, in Kafka's terms: the broker's error where librdkafka kept it, the
    partition's state in the cluster otherwise (a timed-out message hides the broker's error)."""
    timed_out = code in ("_MSG_TIMED_OUT", "_TIMED_OUT", "REQUEST_TIMED_OUT")
    reported = f"librdkafka reported “{text}” after {timeout_s:g} s" if timed_out else ""
    if health is not None and health.leader < 0:
        return (
            f"LEADER_NOT_AVAILABLE: {health.topic}-{health.partition} has no leader: none of "
            f"its replicas (brokers {_ids(health.replicas)}) is in service, so no acks setting "
            "can succeed until one of them returns." + (f" ({reported})" if reported else "")
        )
    enough = code in ("NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND")
    if health is not None and health.below_min_isr and (acks == "all" or enough):
        count = len(health.isr)
        noun = "in-sync replica" if count == 1 else "in-sync replicas"
        head = "NOT_ENOUGH_REPLICAS" if timed_out else code if enough else "NOT_ENOUGH_REPLICAS"
        return (
            f"{head}: {health.topic}-{health.partition} has {count} {noun} "
            f"(brokers {_ids(health.isr)} of {_ids(health.replicas)}), min.insync.replicas is "
            f"{health.min_isr} — acks=all cannot succeed until a broker returns; acks=1 would "
            "be accepted." + (f" ({reported})" if reported else "")
        )
    if enough:
        where = f" on {health.topic}-{health.partition}" if health is not None else ""
        return (
            f"{code}: fewer replicas are in sync{where} than min.insync.replicas requires — "
            "acks=all cannot succeed until a broker returns; acks=1 would be accepted."
        )
    if timed_out:
        return (
            f"{code}: no broker confirmed the message within {timeout_s:g} s (the form's "
            "delivery timeout). The partition's leader may be unreachable; check the brokers."
        )
    return f"{code}: {text}"


class FormProducer:
    """A producer with the form's settings; every call blocks (run it off the GUI thread)."""

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        settings: ProducerSettings,
        timeout: float = FORM_TIMEOUT_S,
    ) -> None:
        self.profile = profile
        self.settings = settings
        self.timeout = (
            timeout if settings.delivery_timeout_s is None else settings.delivery_timeout_s
        )
        self._log = ErrorLog()
        self._creds = creds
        self._admin: AdminClient | None = None
        conf = client_config(profile, creds)
        conf.update(settings.config())
        conf.update({"error_cb": self._log, "message.timeout.ms": int(self.timeout * 1000)})
        try:
            self._producer = Producer(conf)
        except (KafkaException, ValueError, TypeError) as exc:
            raise ProduceError(f"Invalid producer settings: {exc}") from exc

    def health(self, topic: str, partition: int | None) -> PartitionHealth | None:
        """The partition's leader, replicas and ISR and the topic's min.insync.replicas, read
        now (≤ 2 s each); for an unknown partition, the first one in trouble. None if unknown."""
        try:
            md = self._producer.list_topics(topic, timeout=DIAGNOSE_TIMEOUT_S)
        except KafkaException:
            return None
        tmd = md.topics.get(topic)
        if tmd is None or tmd.error is not None or not tmd.partitions:
            return None
        min_isr = self._min_isr(topic)
        found = [
            PartitionHealth(topic, p.id, int(p.leader), tuple(p.replicas), tuple(p.isrs), min_isr)
            for p in (tmd.partitions[i] for i in sorted(tmd.partitions))
        ]
        if partition is not None and partition >= 0:
            return next((h for h in found if h.partition == partition), None)
        troubled = [h for h in found if h.leader < 0 or h.below_min_isr]
        return (troubled or found)[0]

    def _min_isr(self, topic: str) -> int | None:
        try:
            if self._admin is None:
                self._admin = AdminClient(client_config(self.profile, self._creds))
            resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
            futs = self._admin.describe_configs([resource], request_timeout=DIAGNOSE_TIMEOUT_S)
            entries = futs[resource].result(timeout=DIAGNOSE_TIMEOUT_S + 0.5)
            return int(entries["min.insync.replicas"].value)
        except Exception:  # the diagnosis is a bonus: without it the plain error is shown
            return None

    def explain_failure(self, topic: str, partition: int | None, err: KafkaError) -> str:
        code = str(err.name())
        text = str(err.str())
        health = None
        if code in (
            "_MSG_TIMED_OUT",
            "_TIMED_OUT",
            "REQUEST_TIMED_OUT",
            "NOT_ENOUGH_REPLICAS",
            "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            "LEADER_NOT_AVAILABLE",
            "NOT_LEADER_OR_FOLLOWER",
        ):
            health = self.health(topic, partition)
        return failure_text(code, text, self.settings.config()["acks"], health, self.timeout)

    def _produce(self, req: ProduceRequest, on_delivery: Callable[[Any, Any], None]) -> None:
        kwargs: dict[str, Any] = {"key": req.key, "value": req.value, "on_delivery": on_delivery}
        if req.partition is not None:
            kwargs["partition"] = req.partition
        if req.headers:
            kwargs["headers"] = list(req.headers)
        if req.timestamp is not None:
            kwargs["timestamp"] = req.timestamp
        while True:
            try:
                self._producer.produce(req.topic, **kwargs)
                return
            except BufferError:
                self._producer.poll(0.05)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                text = err.str() if isinstance(err, KafkaError) else str(exc)
                raise ProduceError(f"The client refused the message: {text}") from exc

    def _explain(self, exc: BaseException) -> str:
        return explain(
            exc, self._log.snapshot(), self.profile.bootstrap, self.profile.security_protocol.value
        )

    def send(self, req: ProduceRequest, token: CancelToken = NEVER) -> DeliveryReport:
        """Send one message and wait for its delivery report (or the token's cancel)."""
        reports: list[DeliveryReport] = []
        errors: list[tuple[KafkaError, int]] = []

        def delivered(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append((err, int(msg.partition()) if msg is not None else -1))
            reports.append(_report(req.topic, err, msg))

        self._produce(req, delivered)
        deadline = time.monotonic() + self.timeout + 2
        while not reports and time.monotonic() < deadline:
            token.check()
            self._producer.poll(0.1)
        if not reports:
            raise ProduceError(self._explain(TimeoutError("Delivery timed out")))
        report = reports[0]
        if errors:
            err, partition = errors[0]
            raise ProduceError(self.explain_failure(req.topic, partition, err))
        if report.error:
            raise ProduceError(report.error)
        return report

    def send_many(
        self,
        requests: Iterable[ProduceRequest],
        total: int,
        on_progress: Callable[[BulkProgress], None],
        stop: threading.Event,
        *,
        rate: float | None = None,
        on_report: Callable[[DeliveryReport], None] | None = None,
        progress_every_s: float = 0.1,
    ) -> BulkProgress:
        """Send `total` messages, at most `rate` per second; progress at most every 0.1 s."""
        counts = {"ok": 0, "failed": 0}
        first_error: list[str] = []

        def delivered(topic: str) -> Callable[[Any, Any], None]:
            def cb(err: Any, msg: Any) -> None:
                if err is not None:
                    counts["failed"] += 1
                    if not first_error:
                        first_error.append(str(err.str()))
                else:
                    counts["ok"] += 1
                if on_report is not None:
                    on_report(_report(topic, err, msg))

            return cb

        started = time.monotonic()
        last = started
        sent = 0

        def progress(finished: bool = False) -> BulkProgress:
            return BulkProgress(
                sent,
                counts["ok"],
                counts["failed"],
                total,
                time.monotonic() - started,
                finished,
                first_error[0] if first_error else "",
            )

        cb_by_topic: dict[str, Callable[[Any, Any], None]] = {}
        for req in requests:
            if stop.is_set() or sent >= total:
                break
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    # wait for the schedule while serving callbacks; a stop cuts the wait short
                    end = time.monotonic() + ahead
                    while not stop.is_set() and (left := end - time.monotonic()) > 0:
                        self._producer.poll(min(left, 0.05))
                    if stop.is_set():
                        break
            cb = cb_by_topic.get(req.topic)
            if cb is None:
                cb = cb_by_topic[req.topic] = delivered(req.topic)
            self._produce(req, cb)
            sent += 1
            if sent % 1000 == 0:
                self._producer.poll(0)
            now = time.monotonic()
            if now - last >= progress_every_s:
                self._producer.poll(0)
                on_progress(progress())
                last = now
        deadline = time.monotonic() + self.timeout + 5
        while counts["ok"] + counts["failed"] < sent and time.monotonic() < deadline:
            self._producer.poll(0.1)
            if time.monotonic() - last >= progress_every_s:
                on_progress(progress())
                last = time.monotonic()
        final = progress(True)
        on_progress(final)
        return final

    def close(self) -> None:
        self._producer.flush(5)


def _report(topic: str, err: Any, msg: Any) -> DeliveryReport:
    if err is not None:
        return DeliveryReport(
            topic, -1, -1, -1, 0, error=f"The broker refused the message: {err.str()}"
        )
    ts_type, ts = msg.timestamp()
    return DeliveryReport(topic, int(msg.partition()), int(msg.offset()), int(ts), int(ts_type))
