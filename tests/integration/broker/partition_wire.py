"""Raw-frame requests for the many-partition tests: create, delete, grow, produce, fetch."""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kio.schema.api_versions.v3 import request as api_versions_v3
from kio.schema.create_partitions.v3 import request as create_partitions_v3
from kio.schema.create_topics.v7 import request as create_topics_v7
from kio.schema.delete_topics.v6 import request as delete_topics_v6
from kio.schema.fetch.v12 import request as fetch_v12
from kio.schema.produce.v9 import request as produce_v9
from kio.serial import entity_reader

from embedded_broker.ports import free_port_run
from embedded_broker.protocol.codec import RequestHeader, api_schema, encode_request
from tests.integration.groups.wire import WireClient, ms

START_TIMEOUT_S = 60.0


def create_topics(topics: Mapping[str, int]) -> Any:
    return create_topics_v7.CreateTopicsRequest(
        topics=tuple(
            create_topics_v7.CreatableTopic(
                name=name, num_partitions=count, replication_factor=1, assignments=(), configs=()
            )
            for name, count in topics.items()
        ),
        timeout=ms(120_000),
    )


def delete_topics(names: Iterable[str]) -> Any:
    return delete_topics_v6.DeleteTopicsRequest(
        topics=tuple(delete_topics_v6.DeleteTopicState(name=n, topic_id=None) for n in names),
        timeout=ms(120_000),
    )


def create_partitions(name: str, count: int) -> Any:
    return create_partitions_v3.CreatePartitionsRequest(
        topics=(
            create_partitions_v3.CreatePartitionsTopic(name=name, count=count, assignments=None),
        ),
        timeout=ms(30_000),
        validate_only=False,
    )


def api_versions() -> Any:
    return api_versions_v3.ApiVersionsRequest(
        client_software_name="loop-probe", client_software_version="1"
    )


def produce(topic: str, batches: Mapping[int, bytes]) -> Any:
    return produce_v9.ProduceRequest(
        transactional_id=None,
        acks=1,
        timeout=ms(30_000),
        topic_data=(
            produce_v9.TopicProduceData(
                name=topic,
                partition_data=tuple(
                    produce_v9.PartitionProduceData(index=p, records=batch)
                    for p, batch in batches.items()
                ),
            ),
        ),
    )


def fetch(topic: str, partitions: Iterable[int], max_bytes: int = 1 << 20) -> Any:
    return fetch_v12.FetchRequest(
        replica_id=-1,
        max_wait=ms(0),
        min_bytes=0,
        max_bytes=max_bytes,
        isolation_level=0,
        session_id=0,
        session_epoch=-1,
        topics=(
            fetch_v12.FetchTopic(
                topic=topic,
                partitions=tuple(
                    fetch_v12.FetchPartition(
                        partition=p,
                        current_leader_epoch=-1,
                        fetch_offset=0,
                        last_fetched_epoch=-1,
                        log_start_offset=-1,
                        partition_max_bytes=max_bytes,
                    )
                    for p in partitions
                ),
            ),
        ),
        forgotten_topics_data=(),
        rack_id="",
    )


class PipelinedClient(WireClient):
    """A WireClient that can send a request now and read its answer later."""

    def send_only(self, request: Any) -> None:
        self.correlation += 1
        api_key, version = int(request.__api_key__), int(request.__version__)
        header = RequestHeader(api_key, version, self.correlation, self.client_id)
        self.sock.sendall(encode_request(header, request))

    def receive(self, request: Any) -> Any:
        """The answer to ``request``, sent earlier with send_only (the last one sent)."""
        (size,) = struct.unpack(">i", self._read_exact(4))
        frame = self._read_exact(size)
        schema = api_schema(int(request.__api_key__), int(request.__version__))
        offset = 5 if schema.response_header_flexible else 4
        response, _ = entity_reader(schema.response_type)(frame, offset)
        return response

    def readable(self, timeout: float = 0.0) -> bool:
        return bool(select.select([self.sock], [], [], timeout)[0])


def round_trip_s(client: WireClient) -> float:
    """One ApiVersions round trip on ``client``, in seconds."""
    started = time.perf_counter()
    response = client.send(api_versions())
    assert response.error_code == 0
    return time.perf_counter() - started


def free_port() -> int:
    """A port a broker can be restarted on (below the ephemeral range: embedded_broker.ports)."""
    return free_port_run("127.0.0.1")


# the child lowers its own open-files limit, then runs topicscope-broker with the rest of argv
_LIMITED = (
    "import resource, runpy, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); "
    "sys.argv = ['topicscope-broker', *sys.argv[2:]]; "
    "runpy.run_module('embedded_broker', run_name='__main__')"
)


def start_broker(
    data_dir: Path, port: int, *, open_files: int | None = None, extra: Iterable[str] = ()
) -> subprocess.Popen[bytes]:
    """A topicscope-broker process (its log in ``<data_dir>.log``), returned once it answers
    ApiVersions."""
    log_path = data_dir.with_name(data_dir.name + ".log")
    with open(log_path, "ab") as log_file:
        launch = ["-m", "embedded_broker"]
        if open_files is not None:
            launch = ["-c", _LIMITED, str(open_files)]
        args = ["--port", str(port), "--data-dir", str(data_dir), "--log-level", "WARNING"]
        proc = subprocess.Popen(
            [sys.executable, *launch, *args, *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the broker exited: {log_path.read_text()[-3000:]}")
        try:
            client = WireClient(f"127.0.0.1:{port}")
        except OSError:
            time.sleep(0.05)
            continue
        try:
            round_trip_s(client)
        finally:
            client.close()
        return proc
    proc.kill()
    raise AssertionError("the broker did not answer within a minute")


def stop_broker(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """SIGTERM, then wait for the process to exit."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("the broker did not stop after SIGTERM") from None


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
