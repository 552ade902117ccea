"""A cancel cuts a kafka-python call short at any moment of its client's life (real sockets)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kafka.errors import KafkaConnectionError
from kafka.net.selector import NetworkSelector

from desktop.services.kafka_python_stop import Interruptible

ENDS_WITHIN_S = 1.0


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A TCP listener that accepts and never answers: every kafka-python call on it blocks."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def built(stop: Interruptible, bootstrap: str = "127.0.0.1:1") -> Any:
    client = stop.client_factory(bootstrap_servers=bootstrap, client_id="cut-test")
    return client._net


def ends(thread: threading.Thread) -> bool:
    thread.join(ENDS_WITHIN_S)
    return not thread.is_alive()


def test_cut_before_the_io_thread_exists_stops_the_loop_once_it_starts() -> None:
    stop = Interruptible("cut-test")
    net = built(stop)
    stop.interrupt()
    net.start()
    assert ends(net._io_thread)
    with pytest.raises(KafkaConnectionError):
        net.run(lambda: None)


def test_cut_between_naming_the_io_thread_and_starting_it_does_not_raise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kafka-python names its thread, then starts it: a cancel in between used to raise
    "cannot join thread before it is started" out of the window's closeEvent."""
    stop = Interruptible("cut-test")
    net = built(stop)
    start = threading.Thread.start

    def cancel_then_start(thread: threading.Thread) -> None:
        if thread is net._io_thread:
            stop.interrupt()  # the IO thread is named but not started
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", cancel_then_start)
    net.start()
    assert ends(net._io_thread)


def test_cut_before_the_loop_clears_its_stop_flag_still_ends_the_loop() -> None:
    """The loop's first line clears the stop flag: a cut just before it must still hold."""
    stop = Interruptible("cut-test")
    net = built(stop)
    stop.interrupt()
    assert net._stop
    loop = threading.Thread(target=NetworkSelector.run_forever, args=(net,), daemon=True)
    loop.start()  # kafka-python's own loop, from its first line: it sets _stop = False
    assert ends(loop)


def test_cut_fails_a_call_blocked_on_a_silent_broker_at_once(silent_broker: str) -> None:
    from kafka import KafkaAdminClient

    stop = Interruptible("cut-test")
    failure: list[BaseException] = []

    def connect() -> None:
        try:
            KafkaAdminClient(
                bootstrap_servers=silent_broker,
                client_id="cut-test",
                kafka_client=stop.client_factory,
                bootstrap_timeout_ms=30_000,
                request_timeout_ms=30_000,
            )
        except BaseException as exc:  # what the blocked call ends with, cancel included
            failure.append(exc)

    caller = threading.Thread(target=connect, daemon=True)
    caller.start()
    time.sleep(0.5)  # the bootstrap is waiting on the silent broker
    assert caller.is_alive()
    cut_at = time.monotonic()
    stop.interrupt()
    assert ends(caller), "the blocked bootstrap went on after the cut"
    assert time.monotonic() - cut_at < ENDS_WITHIN_S
    assert failure and stop.interrupted
    stop.close(None)


def test_cut_at_random_moments_of_connecting_never_raises_or_hangs(silent_broker: str) -> None:
    from kafka import KafkaAdminClient

    for attempt in range(40):
        stop = Interruptible("cut-test")
        caller = threading.Thread(
            target=lambda stop=stop: _swallow(
                lambda: KafkaAdminClient(
                    bootstrap_servers=silent_broker,
                    client_id="cut-test",
                    kafka_client=stop.client_factory,
                    bootstrap_timeout_ms=30_000,
                )
            ),
            daemon=True,
        )
        caller.start()
        time.sleep((attempt % 10) * 0.002)
        stop.interrupt()  # must not raise, whatever the client was doing
        assert ends(caller), f"attempt {attempt}: the call went on after the cut"
        stop.close(None)


def _swallow(call: Any) -> None:
    with contextlib.suppress(BaseException):  # the cut-short call fails, or is cancelled
        call()
