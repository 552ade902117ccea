"""A classic group written with more members than a lowered group.max.size: when a restarted
topicscope-broker loads it, it is rebalanced at once (Kafka's onLoaded), the members that rejoin
past the limit are refused with GROUP_MAX_SIZE_REACHED and removed, and the group goes on with
group.max.size members."""

from __future__ import annotations

import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kio.schema.errors import ErrorCode

from tests.integration.broker.broker_process import LoggedBrokerProcess, free_port
from tests.integration.cluster.local_cluster import start_timeout_s

from .classic_frames import join, sync
from .clients import create_topic
from .wire import WireClient, make, request_module

START_S = 30.0
WAIT_S = 30.0
JOIN_V, SYNC_V = 9, 5


def _describe(bootstrap: str, group: str) -> Any:
    client = WireClient(bootstrap)
    try:
        mod = request_module(15, 5)
        request = make(
            mod.DescribeGroupsRequest, groups=(group,), include_authorized_operations=False
        )
        return client.send(request).groups[0]
    finally:
        client.close()


def test_a_group_loaded_over_a_lowered_group_max_size_is_rebalanced_down_to_it(
    tmp_path: Path, brokers: list[LoggedBrokerProcess]
) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    data = tmp_path / "data"
    # an initial delay (longer on a loaded machine): the three joins land in one generation
    delay_ms = int(min(start_timeout_s(1.5), 3.0) * 1000)
    first = {"group.initial.rebalance.delay.ms": str(delay_ms)}
    brokers.append(LoggedBrokerProcess(data, port, tmp_path / "first.log", first, START_S))
    topic, group = f"capped-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 3)
    clients = [WireClient(bootstrap) for _ in range(3)]
    pool = ThreadPoolExecutor(3)
    try:
        ids = [str(join(c, JOIN_V, group, topic).member_id) for c in clients]
        joined = list(pool.map(lambda c, m: join(c, JOIN_V, group, topic, m), clients, ids))
        assert [j.error_code for j in joined] == [ErrorCode.none] * 3
        generation = int(joined[0].generation_id)
        synced = list(
            pool.map(lambda c, m: sync(c, SYNC_V, group, (m, generation), b""), clients, ids)
        )
        assert [s.error_code for s in synced] == [ErrorCode.none] * 3
        described = _describe(bootstrap, group)
        assert (described.group_state, len(described.members)) == ("Stable", 3)
        for c in clients:
            c.close()

        brokers[0].stop(signal.SIGKILL)
        brokers.append(
            LoggedBrokerProcess(
                data, port, tmp_path / "second.log", {"group.max.size": "2"}, START_S
            )
        )
        # loaded over the limit: rebalancing at once, all three still members until they rejoin
        described = _describe(bootstrap, group)
        assert (described.group_state, len(described.members)) == ("PreparingRebalance", 3)

        clients = [WireClient(bootstrap) for _ in range(3)]
        rejoined = list(
            pool.map(lambda c, m: join(c, JOIN_V, group, topic, m), clients, ids, timeout=WAIT_S)
        )
        # the last of the three to rejoin is refused and removed; the join phase ends with two
        codes = sorted(int(r.error_code) for r in rejoined)
        assert codes == sorted([ErrorCode.none, ErrorCode.none, ErrorCode.group_max_size_reached])
        refused = [r for r in rejoined if r.error_code == ErrorCode.group_max_size_reached]
        assert refused[0].member_id == ""
        kept = {str(r.member_id) for r in rejoined if r.error_code == ErrorCode.none}
        assert len(kept) == 2 and kept < set(ids)
        assert {int(r.generation_id) for r in rejoined if r.error_code == 0} == {generation + 1}
        described = _describe(bootstrap, group)
        assert {m.member_id for m in described.members} == kept
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for c in clients:
            c.close()
