"""DescribeLogDirs on the built-in broker: real sizes of the segment files, without opening logs."""

from __future__ import annotations

from kafka import KafkaAdminClient

from tests.broker_fixtures import BrokerFactory
from tests.integration.broker.clients import create_topic, produce_all, producer
from tests.integration.broker.config_views import (
    log_dirs,
    partition_sizes,
    segment_bytes_on_disk,
)

PARTITIONS = 3


def _fill(bootstrap: str, topic: str) -> None:
    # small segments so each partition has several .log files
    create_topic(bootstrap, topic, PARTITIONS, config={"segment.bytes": "4096"})
    items = [{"value": b"v" * 200, "partition": i % PARTITIONS} for i in range(300)]
    produce_all(producer(bootstrap, **{"linger.ms": 0, "batch.size": 1024}), topic, items)


def test_log_dir_sizes_equal_the_segment_files_on_disk_even_for_unopened_partitions(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory()
    assert broker.data_dir is not None
    _fill(broker.bootstrap, "sized")
    (log_dir,) = log_dirs(broker.bootstrap)
    assert log_dir["error_code"] == 0
    assert log_dir["log_dir"] == str(broker.data_dir)
    assert 0 < log_dir["usable_bytes"] <= log_dir["total_bytes"]
    on_disk = {p: segment_bytes_on_disk(broker.data_dir / f"sized-{p}") for p in range(PARTITIONS)}
    assert len(list((broker.data_dir / "sized-0").glob("*.log"))) > 1
    assert partition_sizes(log_dir, "sized") == on_disk
    assert all(size > 0 for size in on_disk.values())

    # after a restart partitions are only registered: measuring them must not open their logs
    broker.restart()
    runner = broker._runner
    opened_before = runner.call(lambda state: state.logs.open_count())
    (log_dir,) = log_dirs(broker.bootstrap)
    assert partition_sizes(log_dir, "sized") == on_disk
    assert runner.call(lambda state: state.logs.open_count()) == opened_before


def test_in_memory_broker_reports_the_bytes_it_holds(builtin_broker_factory: BrokerFactory) -> None:
    broker = builtin_broker_factory(in_memory=True)
    _fill(broker.bootstrap, "held")
    (log_dir,) = log_dirs(broker.bootstrap)
    sizes = partition_sizes(log_dir, "held")
    assert set(sizes) == set(range(PARTITIONS))
    assert all(size > 100 * 200 for size in sizes.values())  # ~100 values of 200 bytes each


def test_kafka_python_infers_broker_version_4_3(builtin_broker_factory: BrokerFactory) -> None:
    broker = builtin_broker_factory(in_memory=True)
    # kafka-python infers the version from ApiVersions: (4, 3) needs DescribeLogDirs v5
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        assert client._client.check_version() == (4, 3)
    finally:
        client.close()
