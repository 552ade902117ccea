"""Sizes on disk through kafka-python's DescribeLogDirs (confluent-kafka has no such call)."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from kafka.admin import KafkaAdminClient

from desktop.domain.log_dirs import LogDirSizes
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.cancel import NEVER, CancelToken, JobCancelled
from desktop.services.kafka_python_stop import Interruptible

_ids = itertools.count(1)


class SizesUnavailableError(Exception):
    """The profile's settings cannot be expressed to kafka-python (the text says why)."""


def kafka_python_config(
    profile: ClusterProfile, creds: Credentials, timeout_s: float
) -> dict[str, Any]:
    """The profile's address and security settings in kafka-python's terms."""
    ms = int(timeout_s * 1000)
    conf: dict[str, Any] = {
        "bootstrap_servers": [s.strip() for s in profile.bootstrap.split(",") if s.strip()],
        "client_id": f"topicscope-sizes-{next(_ids)}",  # names its IO thread: one per client
        "security_protocol": profile.security_protocol.value,
        "request_timeout_ms": ms,
        "bootstrap_timeout_ms": ms,
        "reconnect_backoff_max_ms": 2000,
    }
    proto = profile.security_protocol
    if proto.uses_sasl:
        conf["sasl_mechanism"] = profile.sasl_mechanism.value
        conf["sasl_plain_username"] = profile.username
        conf["sasl_plain_password"] = creds.password
    if proto.uses_tls:
        if profile.cert_location and profile.cert_is_pkcs12:
            raise SizesUnavailableError(
                "Sizes on disk need a PEM client certificate (kafka-python reads no PKCS#12)."
            )
        conf["ssl_check_hostname"] = profile.verify_hostname
        if profile.ca_location:
            conf["ssl_cafile"] = profile.ca_location
        if profile.cert_location:
            conf["ssl_certfile"] = profile.cert_location
            conf["ssl_keyfile"] = profile.key_location or None
            conf["ssl_password"] = creds.key_password or None
    return conf


def sizes_from_response(
    response: list[dict[str, Any]], now: float, unanswered: frozenset[int] = frozenset()
) -> LogDirSizes:
    """Sum kafka-python's per-broker, per-log-dir, per-partition sizes per broker and topic."""
    by_broker: dict[int, dict[str, int]] = {}
    for broker in response:
        # a broker with empty log dirs holds 0 bytes, not unknown
        held = by_broker.setdefault(int(broker["broker"]), defaultdict(int))
        for log_dir in broker.get("log_dirs", ()):
            if log_dir.get("error_code", 0):
                continue  # an offline log dir reports no partitions
            for topic in log_dir.get("topics", ()):
                for part in topic.get("partitions", ()):
                    if part.get("is_future_key"):
                        continue  # a replica being moved between dirs: counted once, where it is
                    held[str(topic["name"])] += int(part.get("partition_size", 0))
    return LogDirSizes({node: dict(sizes) for node, sizes in by_broker.items()}, now, unanswered)


def describe_sizes(
    profile: ClusterProfile,
    creds: Credentials,
    timeout_s: float,
    token: CancelToken = NEVER,
    brokers: Sequence[int] | None = None,
) -> LogDirSizes:
    """Ask every broker for its log dirs' sizes (blocking; run it in a job). A cancel of
    `token` ends the call within moments and quietly (JobCancelled), even mid-bootstrap.
    Each broker is asked on its own: one that cannot be reached (killed and not yet fenced,
    or unreachable from here) is listed in `unanswered` and the others' sizes still come.
    `brokers` are the ids to ask (the app's latest snapshot lists them); without them the
    cluster is asked, through whichever broker kafka-python picks, which may be the dead one."""
    conf = kafka_python_config(profile, creds, timeout_s)
    stop = Interruptible(str(conf["client_id"]))
    conf["kafka_client"] = stop.client_factory
    unhook = token.on_cancel(stop.interrupt)
    try:
        client = KafkaAdminClient(**conf)
        try:
            if brokers is None:
                brokers = [int(b["broker_id"]) for b in client.describe_cluster()["brokers"]]
            return _ask_each_broker(client, stop, brokers)
        finally:
            stop.close(client.close)
    except Exception:
        if stop.interrupted:
            raise JobCancelled from None  # what failed was the call we cut short
        raise
    finally:
        unhook()
        stop.close(None)


def _ask_each_broker(
    client: KafkaAdminClient, stop: Interruptible, nodes: Sequence[int]
) -> LogDirSizes:
    answers: list[dict[str, Any]] = []
    first_error: Exception | None = None
    unanswered = list(nodes)
    # twice: a first ask can fail for a live broker too (kafka-python still learning the
    # cluster's addresses right after its bootstrap); a dead one fails both times
    for _round in range(2):
        failed: list[int] = []
        for node in unanswered:
            try:
                answers += client.describe_log_dirs(brokers=[node])
            except Exception as exc:
                if stop.interrupted:
                    raise
                first_error = first_error or exc
                failed.append(node)
        unanswered = failed
        if not unanswered:
            break
    if first_error is not None and not answers:
        raise first_error
    return sizes_from_response(answers, time.time(), frozenset(unanswered))
