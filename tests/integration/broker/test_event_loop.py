"""Disk work never stalls the event loop: other connections are answered meanwhile."""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kio.schema.errors import ErrorCode

from embedded_broker.runner import BrokerRunner, BrokerStartError
from embedded_broker.storage import Log, LogConfig, LogManager
from embedded_broker.storage.segment import Segment
from tests.broker_fixtures import TEST_DEFAULTS, RunningBroker
from tests.integration.cluster.local_cluster import load_factor
from tests.integration.groups.wire import WireClient
from tests.unit.storage.batches import simple_batch

from .partition_wire import PipelinedClient, create_topics, delete_topics, produce, round_trip_s

PARTITIONS = 5_000
# generous for a loaded machine; a loop blocked by the whole operation takes seconds
MAX_ROUND_TRIP_S = 0.5
NOW = 1_700_000_000_000
PROBE_INTERVAL_S = 0.01


def _max_round_trip_s() -> float:
    """MAX_ROUND_TRIP_S on an idle machine, stretched with the load (at most 3x): at a load of
    about 20 on 2 cores one probe took 0.78 s while the others took about 1 ms."""
    return MAX_ROUND_TRIP_S * min(load_factor(), 3.0)


def _probe_while(slow: PipelinedClient, request: Any, probe: WireClient) -> tuple[Any, list[float]]:
    """Send ``request`` on ``slow``; until it is answered, time ApiVersions on ``probe``.

    Returns the answer and the round trips, and checks the first probe was answered while the
    request was still in progress (the loop was free), not queued behind it.
    """
    slow.send_only(request)
    round_trips = [round_trip_s(probe)]
    assert not slow.readable(), "the probe was answered only after the slow request"
    deadline = time.monotonic() + 60
    # a probe every few ms, as an idle client would, rather than a busy loop competing with the
    # broker (in this process) for the interpreter
    while not slow.readable(PROBE_INTERVAL_S) and time.monotonic() < deadline:
        round_trips.append(round_trip_s(probe))
    return slow.receive(request), round_trips


def test_creating_and_deleting_5000_partitions_leaves_the_loop_free(
    builtin_broker: RunningBroker,
) -> None:
    slow = PipelinedClient(builtin_broker.bootstrap)
    probe = WireClient(builtin_broker.bootstrap)
    with contextlib.closing(slow), contextlib.closing(probe):
        round_trip_s(probe)
        created, during_create = _probe_while(slow, create_topics({"wide": PARTITIONS}), probe)
        assert created.topics[0].error_code == ErrorCode.none
        assert max(during_create) < _max_round_trip_s(), during_create
        # the topic's partitions are written to (opened) so deleting has files to close
        batch = simple_batch(1)
        response = slow.send(produce("wide", dict.fromkeys(range(0, PARTITIONS, 5), batch)))
        assert all(p.error_code == 0 for p in response.responses[0].partition_responses)
        deleted, during_delete = _probe_while(slow, delete_topics(["wide"]), probe)
        assert deleted.responses[0].error_code == ErrorCode.none
        assert max(during_delete) < _max_round_trip_s(), during_delete
    assert builtin_broker.data_dir is not None
    assert not list(builtin_broker.data_dir.glob("wide-*"))


def test_a_second_create_of_a_topic_being_created_is_refused(
    builtin_broker: RunningBroker,
) -> None:
    first = PipelinedClient(builtin_broker.bootstrap)
    second = WireClient(builtin_broker.bootstrap)
    with contextlib.closing(first), contextlib.closing(second):
        request = create_topics({"twice": 2_000})
        first.send_only(request)
        (again,) = second.send(create_topics({"twice": 1})).topics
        (created,) = first.receive(request).topics
    assert created.error_code == ErrorCode.none
    assert again.error_code == ErrorCode.topic_already_exists
    assert builtin_broker.data_dir is not None
    assert len(list(builtin_broker.data_dir.glob("twice-*"))) == 2_000


def _start_with_partitions(data_dir: Path, partitions: int) -> BrokerRunner:
    """A broker with one topic of ``partitions``, each holding 3 records."""
    runner = BrokerRunner(port=0, data_dir=data_dir, config=TEST_DEFAULTS)
    address = runner.start()
    try:
        client = WireClient(address.bootstrap)
        with contextlib.closing(client):
            assert client.send(create_topics({"wide": partitions})).topics[0].error_code == 0
            batch = simple_batch(3)
            response = client.send(produce("wide", dict.fromkeys(range(partitions), batch)))
            assert all(p.error_code == 0 for p in response.responses[0].partition_responses)
    except BaseException:
        runner.stop()
        raise
    return runner


def _clean_partitions(data_dir: Path) -> int:
    return len(list(data_dir.glob("wide-*/clean-shutdown")))


def _wait_all_clean(data_dir: Path, partitions: int) -> None:
    deadline = time.monotonic() + 60
    while _clean_partitions(data_dir) < partitions:
        assert time.monotonic() < deadline, "closing did not finish behind the deadline"
        time.sleep(0.05)


def test_stopping_a_5000_partition_broker_meets_its_deadline(tmp_path: Path) -> None:
    runner = _start_with_partitions(tmp_path / "data", PARTITIONS)
    started = time.monotonic()
    stopped = runner.stop(timeout=5.0)
    assert time.monotonic() - started <= 5.0 + 0.5  # the thread's own wind-down, at most
    assert isinstance(stopped, bool)  # the app learns whether everything was closed
    if stopped:
        assert _clean_partitions(tmp_path / "data") == PARTITIONS
    else:  # only on a machine too slow to close 5,000 partitions in time
        _wait_all_clean(tmp_path / "data", PARTITIONS)


def test_stop_reports_a_missed_deadline_and_finishes_closing_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = _start_with_partitions(tmp_path / "data", 40)
    disk_back = threading.Event()
    close = Log.close

    def stuck_close(log: Log) -> None:  # a disk that stops answering for a while
        disk_back.wait(30)
        close(log)

    monkeypatch.setattr(Log, "close", stuck_close)
    started = time.monotonic()
    assert runner.stop(timeout=1.5) is False
    assert time.monotonic() - started < 1.5 + 0.5
    assert _clean_partitions(tmp_path / "data") == 0
    disk_back.set()
    _wait_all_clean(tmp_path / "data", 40)
    # the data dir is free for the next broker once the closes are done
    again = BrokerRunner(port=0, data_dir=tmp_path / "data", config=TEST_DEFAULTS)
    deadline = time.monotonic() + 30
    while True:
        try:
            again.start()
            break
        except BrokerStartError:
            assert time.monotonic() < deadline, "the data dir stayed locked"
            time.sleep(0.05)
    assert again.stop(timeout=5.0)


@pytest.mark.parametrize(
    "deletion",
    [
        pytest.param(lambda log: log.enforce_retention(NOW + 10_000), id="retention"),
        pytest.param(
            lambda log: log.delete_records_before(log.log_end_offset), id="delete-records"
        ),
    ],
)
def test_deleting_segments_does_not_hold_up_appends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deletion: Callable[[Log], object]
) -> None:
    log = Log(tmp_path / "t-0", LogConfig(segment_bytes=400, retention_ms=1_000))
    for _ in range(10):
        log.append(simple_batch(2, value_size=100, base_timestamp=NOW), now_ms=NOW)
    assert log.segment_count > 2
    deleting, release = threading.Event(), threading.Event()
    delete_files = Segment.delete

    def slow_delete(segment: Segment) -> None:  # a slow disk, deterministically
        deleting.set()
        release.wait(30)
        delete_files(segment)

    monkeypatch.setattr(Segment, "delete", slow_delete)
    worker = threading.Thread(target=deletion, args=(log,))
    worker.start()
    try:
        assert deleting.wait(10)
        appended = threading.Event()
        threading.Thread(
            target=lambda: (log.append(simple_batch(1), now_ms=NOW + 10_000), appended.set()),
            daemon=True,
        ).start()
        assert appended.wait(5), "an append waited for segment files to be deleted"
    finally:
        release.set()
        worker.join(30)
    assert log.log_start_offset == 20
    assert log.log_end_offset == 21
    log.close()


def test_a_disk_error_while_creating_answers_storage_error_and_leaves_nothing(
    builtin_broker: RunningBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare = LogManager.prepare

    def disk_full(self: LogManager, topic: str, partitions: Any, config: LogConfig) -> Any:
        prepare(self, topic, range(3), config)  # some partitions made it to disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LogManager, "prepare", disk_full)
    client = WireClient(builtin_broker.bootstrap)
    with contextlib.closing(client):
        (result,) = client.send(create_topics({"full": 10})).topics
        assert result.error_code == ErrorCode.kafka_storage_error
        assert result.error_message is not None and "No space left" in result.error_message
        assert builtin_broker.data_dir is not None
        assert not list(builtin_broker.data_dir.glob("full-*"))  # what was made is removed
        monkeypatch.setattr(LogManager, "prepare", prepare)
        (again,) = client.send(create_topics({"full": 10})).topics  # not half there
        assert again.error_code == ErrorCode.none
