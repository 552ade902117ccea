"""Share-partition state survives the broker: after a kill -9 and a restart, what was
acknowledged stays done, what was released or still held is delivered again with its delivery
count, and the group's start offset is where it was."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.integration.broker.broker_process import free_port, start_broker_process

from .conftest import DEADLINE_S, TopicMaker, produce
from .wire import ACCEPT, REJECT, RELEASE, ShareWire, start_offsets

WAIT_MS = 10_000


def test_acknowledged_state_survives_kill_9(tmp_path: Path, make_topic: TopicMaker) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    bs = f"127.0.0.1:{port}"
    proc = start_broker_process(data_dir, port)
    try:
        topic, tid = make_topic(bs)
        member = ShareWire(bs, "durable", tid)
        try:
            member.join(topic)
            member.fetch()
            produce(bs, topic, 6)
            assert member.got(member.fetch(max_wait_ms=WAIT_MS)).offsets() == [0, 1, 2, 3, 4, 5]
            settled = member.acknowledge(0, [(0, 1, ACCEPT), (2, 2, REJECT), (3, 3, RELEASE)])
            assert settled.responses[0].partitions[0].error_code == 0
        finally:
            member.close()
        # answered: so on disk; 4 and 5 are still held when the broker dies
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proc = start_broker_process(data_dir, port)
    try:
        # as written before the restart (and as Kafka's share coordinator keeps it): start 0,
        # with 0-2 finished past it; 3-5 wait
        assert start_offsets(bs, "durable", topic) == {0: (0, 3)}
        again = ShareWire(bs, "durable", tid)
        try:
            again.join(topic)
            got = again.got(again.fetch(max_wait_ms=WAIT_MS))
        finally:
            again.close()
        # 0-2 are never delivered again; the released and the held ones are, counted
        assert got.counts() == {3: 2, 4: 2, 5: 2}
    finally:
        proc.kill()
        proc.wait()
