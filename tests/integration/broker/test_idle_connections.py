"""connections.max.idle.ms: idle connections are closed, so they cannot hold max.connections."""

from __future__ import annotations

import socket
import time

from tests.broker_fixtures import BrokerFactory

from .clients import TIMEOUT_S, admin
from .raw import api_versions_frame, connect, correlation_id, read_response

IDLE_MS = 1000


def _served(sock: socket.socket, cid: int) -> None:
    sock.sendall(api_versions_frame(cid))
    assert correlation_id(read_response(sock)) == cid


def _wait_closed(sock: socket.socket) -> float:
    """Block until the broker closes ``sock``; returns when (monotonic)."""
    sock.settimeout(TIMEOUT_S)
    try:
        assert sock.recv(1) == b"", "the broker sent data on an idle connection"
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError("the broker kept an idle connection open") from None
    return time.monotonic()


def test_an_idle_connection_is_closed_and_an_active_one_is_not(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory({"connections.max.idle.ms": str(IDLE_MS)})
    idle = connect(broker.port)
    active = connect(broker.port)
    try:
        _served(idle, 1)
        last_request = time.monotonic()
        # The active client sends a request every 300 ms for 2.5 idle periods.
        for cid in range(8):
            _served(active, cid)
            time.sleep(0.3)
        closed_at = _wait_closed(idle)
        assert closed_at - last_request >= IDLE_MS / 1000 * 0.9
        _served(active, 99)
    finally:
        idle.close()
        active.close()


def test_idle_connections_stop_holding_max_connections(
    builtin_broker_factory: BrokerFactory,
) -> None:
    broker = builtin_broker_factory(
        {"connections.max.idle.ms": str(IDLE_MS), "max.connections": "3"}
    )
    held = [connect(broker.port) for _ in range(3)]
    try:
        for cid, sock in enumerate(held):  # an answer proves the broker counts the connection
            _served(sock, cid)
        refused = connect(broker.port)
        _wait_closed(refused)  # all slots are taken by idle sockets
        refused.close()
        for sock in held:
            _wait_closed(sock)
        # Their slots are free again: a real client gets in.
        md = admin(broker.bootstrap).list_topics(timeout=TIMEOUT_S)
        assert md.brokers
    finally:
        for sock in held:
            sock.close()
