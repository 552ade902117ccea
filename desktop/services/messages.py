"""Read back a single message at an offset (the self-test's check that a send arrived)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, TopicPartition

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.admin import KafkaServiceError
from desktop.services.cancel import NEVER, CancelToken
from desktop.services.connection import ErrorLog, client_config, explain


def read_one(
    profile: ClusterProfile,
    creds: Credentials,
    topic: str,
    *,
    partition: int,
    offset: int,
    timeout: float = 10.0,
    token: CancelToken = NEVER,
) -> tuple[bytes | None, bytes | None]:
    """Read the message at `offset` with an assigned (group-less) consumer; the token is
    looked at between polls."""
    log = ErrorLog()
    conf = client_config(profile, creds)
    conf.update(
        {
            "error_cb": log,
            "group.id": f"topicscope-read-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer = Consumer(conf)
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            token.check()
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                raise KafkaServiceError(
                    f"Reading {topic}-{partition} at offset {offset} failed: {err.str()}"
                )
            return msg.key(), msg.value()
    finally:
        consumer.close()
    raise KafkaServiceError(
        explain(TimeoutError("read timed out"), log.snapshot(), profile.bootstrap)
    )
