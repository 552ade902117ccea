"""connection.failed.authentication.delay.ms: the error reply goes at once, the close later."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from embedded_broker.runner import BrokerRunner
from tests.integration.broker.raw import connect

from .conftest import PLAIN_JAAS
from .test_sasl_wire import SASL_AUTHENTICATION_FAILED, closed, plain_login

DELAY_MS = 3_000


@pytest.fixture(scope="module")
def delayed_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    runner = BrokerRunner(
        port=0,
        data_dir=tmp_path_factory.mktemp("auth-delay"),
        config={
            "listeners": "SASL_PLAINTEXT://127.0.0.1:0",
            "sasl.jaas.config": PLAIN_JAAS,
            "connection.failed.authentication.delay.ms": str(DELAY_MS),
        },
    )
    runner.start(timeout=30)
    yield runner
    runner.stop()


def test_the_close_waits_for_the_delay_after_the_error_reply(delayed_broker: BrokerRunner) -> None:
    with connect(delayed_broker.listeners["SASL_PLAINTEXT"].port) as sock:
        sock.settimeout(DELAY_MS / 1000 + 20)
        reply = plain_login(sock, password="nope")
        answered = time.monotonic()
        assert reply.error_code.value == SASL_AUTHENTICATION_FAILED
        assert closed(sock)
        # half the delay leaves room for a slow test process reading the reply late
        assert time.monotonic() - answered >= DELAY_MS / 2000
