"""Local brokers listen below the ephemeral range, so one restarted on its port finds it free
(a port bound to 0 lies in the range every outgoing connection draws its source port from)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from embedded_broker import ports
from embedded_broker.launcher import plan_cluster


def test_a_run_of_free_ports_lies_below_the_ephemeral_range() -> None:
    start = ports.ephemeral_start()
    for _ in range(20):
        first = ports.free_port_run("127.0.0.1", 4)
        assert first >= ports.LOWEST and first + 4 <= start
        assert ports.ports_free("127.0.0.1", first, 4)


def test_a_taken_port_is_not_free() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports.free_port_run("127.0.0.1")))
        taken.listen()
        port = int(taken.getsockname()[1])
        assert not ports.ports_free("127.0.0.1", port, 1)
        assert not ports.ports_free("127.0.0.1", port - 1, 2)


def test_a_range_that_starts_low_falls_back_to_the_kernels_pick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ports, "ephemeral_start", lambda: 1024)
    first = ports.free_port_run("127.0.0.1", 3)
    assert ports.ports_free("127.0.0.1", first, 3)


def test_the_launcher_plans_a_cluster_on_such_ports(tmp_path: Path) -> None:
    plan = plan_cluster(tmp_path / "c", 3, host="127.0.0.1", port=0, racks=[], settings={})
    found = [b["port"] for b in plan["brokers"]] + [plan["controller"]["port"]]
    assert found == list(range(found[0], found[0] + 4))
    assert found[-1] < ports.ephemeral_start()
