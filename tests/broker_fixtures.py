"""Fixtures that run the built-in broker in-process (BrokerRunner on port 0, tmp data dir)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from embedded_broker.runner import BrokerAddress, BrokerRunner

# Name prefixes of the threads an in-process built-in broker starts (some lazily, on first use of
# a feature): tests that count an app's threads leave these out.
BROKER_THREAD_PREFIXES = (
    "topicscope-broker",
    "asyncio_",  # the broker loop's default executor
    "schema-warmup",
    "group-journal",
    "producer-state",
    "log-",
)

# The runner's own 10 s ran out on a test machine at load 35 (2 cores); a broker that starts
# late is not what any test checks.
START_TIMEOUT_S = 60.0

# Tests never wait for the first rebalance; everything else keeps Kafka's defaults.
TEST_DEFAULTS = {"group.initial.rebalance.delay.ms": "0"}


class RunningBroker:
    """A started broker plus what tests need: bootstrap, data dir, restart on the same port."""

    def __init__(self, data_dir: Path | None, config: Mapping[str, str], in_memory: bool) -> None:
        self.data_dir = data_dir
        self.config = {**TEST_DEFAULTS, **config}
        self.in_memory = in_memory
        self._runner = BrokerRunner(
            port=0, data_dir=data_dir, in_memory=in_memory, config=self.config
        )
        self.address: BrokerAddress = self._runner.start(START_TIMEOUT_S)

    @property
    def bootstrap(self) -> str:
        return self.address.bootstrap

    @property
    def port(self) -> int:
        return self.address.port

    @property
    def running(self) -> bool:
        return self._runner.running

    def stop(self) -> None:
        self._runner.stop()

    def restart(self) -> None:
        """Stop cleanly and start again on the same port and data directory."""
        self._runner.stop()
        self._runner = BrokerRunner(
            port=self.address.port,
            data_dir=self.data_dir,
            in_memory=self.in_memory,
            config=self.config,
        )
        self.address = self._runner.start(START_TIMEOUT_S)


BrokerFactory = Callable[..., RunningBroker]


@pytest.fixture
def builtin_broker_factory(tmp_path: Path) -> Iterator[BrokerFactory]:
    """Start brokers with custom settings: factory(config={...}, in_memory=False)."""
    started: list[RunningBroker] = []
    counter = iter(range(1000))

    def factory(
        config: Mapping[str, str] | None = None, *, in_memory: bool = False
    ) -> RunningBroker:
        data_dir = None if in_memory else tmp_path / f"broker-{next(counter)}"
        broker = RunningBroker(data_dir, config or {}, in_memory)
        started.append(broker)
        return broker

    yield factory
    for broker in started:
        broker.stop()


@pytest.fixture
def builtin_broker(builtin_broker_factory: BrokerFactory) -> RunningBroker:
    """A built-in broker on a free port with a fresh data directory."""
    return builtin_broker_factory()
