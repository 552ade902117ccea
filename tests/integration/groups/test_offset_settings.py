"""Offset settings of the coordinator: offset.metadata.max.bytes and the retention check interval,
given on the command line and shown by DescribeConfigs."""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
import uuid

from confluent_kafka.admin import AdminClient, ConfigResource
from kio.schema.errors import ErrorCode
from kio.static.primitive import i64Timedelta

from tests.broker_fixtures import RunningBroker

from .clients import create_topic
from .wire import WireClient, make, request_module

TIMEOUT_S = 60
COMMIT_VERSION = 8


def commit(client: WireClient, group: str, metadata: str) -> ErrorCode:
    """One OffsetCommit of offset 5 on partition 0 of 'settings' as an Empty group; its error."""
    mod = request_module(8, COMMIT_VERSION)
    partition = make(
        mod.OffsetCommitRequestPartition,
        partition_index=0,
        committed_offset=5,
        committed_leader_epoch=-1,
        committed_metadata=metadata,
    )
    topic = make(mod.OffsetCommitRequestTopic, name="settings", partitions=(partition,))
    response = client.send(
        make(
            mod.OffsetCommitRequest,
            group_id=group,
            generation_id_or_member_epoch=-1,
            member_id="",
            group_instance_id=None,
            retention_time=i64Timedelta.parse(datetime.timedelta(milliseconds=-1)),
            topics=(topic,),
        )
    )
    ((code,),) = [[p.error_code for p in t.partitions] for t in response.topics]
    return ErrorCode(code)


def test_default_metadata_limit_is_kafkas(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "settings", 1)
    client = WireClient(builtin_broker.bootstrap)
    try:
        group = f"meta-{uuid.uuid4().hex[:6]}"
        assert commit(client, group, "m" * 4096) == ErrorCode.none
        assert commit(client, group, "m" * 4097) == ErrorCode.offset_metadata_too_large
    finally:
        client.close()


def test_describe_configs_shows_the_offset_settings(builtin_broker: RunningBroker) -> None:
    resource = ConfigResource(ConfigResource.Type.BROKER, "1")
    client = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    entries = client.describe_configs([resource])[resource].result(timeout=TIMEOUT_S)
    for name, default in (
        ("offsets.retention.check.interval.ms", "600000"),
        ("offset.metadata.max.bytes", "4096"),
    ):
        entry = entries[name]
        assert entry.value == default
        assert entry.is_default
        assert entry.is_read_only


def test_cli_accepts_the_offset_settings_and_the_coordinator_uses_them() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embedded_broker",
            "--in-memory",
            "--port",
            "0",
            "--config",
            "offset.metadata.max.bytes=16",
            "--config",
            "offsets.retention.check.interval.ms=1000",
            "--config",
            "group.initial.rebalance.delay.ms=0",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        port = None
        seen = []
        for line in proc.stderr:  # ends when the process exits; pytest's timeout bounds it
            seen.append(line)
            found = re.search(r"broker ready on [^ ]+:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None, "".join(seen)
        create_topic(f"127.0.0.1:{port}", "settings", 1)
        client = WireClient(f"127.0.0.1:{port}")
        try:
            group = f"cli-{uuid.uuid4().hex[:6]}"
            assert commit(client, group, "m" * 16) == ErrorCode.none
            assert commit(client, group, "m" * 17) == ErrorCode.offset_metadata_too_large
        finally:
            client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT_S)
    assert proc.returncode == 0
