"""Send messages as the producer form configures them, and predict where a key will land."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from desktop.domain.messages import BulkProgress, DeliveryReport, ProduceRequest
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.cancel import NEVER, CancelToken
from desktop.services.connection import ErrorLog, client_config, explain

COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
ACKS = ("all", "1", "0")
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


class FormProducer:
    """A producer with the form's settings; every call blocks (run it off the GUI thread)."""

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        settings: ProducerSettings,
        timeout: float = 15.0,
    ) -> None:
        self.profile = profile
        self.settings = settings
        self.timeout = timeout
        self._log = ErrorLog()
        conf = client_config(profile, creds)
        conf.update(settings.config())
        conf.update({"error_cb": self._log, "message.timeout.ms": int(timeout * 1000)})
        try:
            self._producer = Producer(conf)
        except (KafkaException, ValueError, TypeError) as exc:
            raise ProduceError(f"Invalid producer settings: {exc}") from exc

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
        return explain(exc, self._log.snapshot(), self.profile.bootstrap)

    def send(self, req: ProduceRequest, token: CancelToken = NEVER) -> DeliveryReport:
        """Send one message and wait for its delivery report (or the token's cancel)."""
        reports: list[DeliveryReport] = []
        self._produce(req, lambda err, msg: reports.append(_report(req.topic, err, msg)))
        deadline = time.monotonic() + self.timeout + 5
        while not reports and time.monotonic() < deadline:
            token.check()
            self._producer.poll(0.1)
        if not reports:
            raise ProduceError(self._explain(TimeoutError("Delivery timed out")))
        report = reports[0]
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
