"""Fixtures that open partition logs on both backends (file and in-memory)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from embedded_broker.storage import Log, LogConfig

OpenLog = Callable[..., Log]


@pytest.fixture(params=["file", "memory"])
def open_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenLog]:
    """A factory: open_log(**LogConfig fields) -> a Log on the parametrized backend."""
    opened: list[Log] = []
    directory = tmp_path / "topic-0" if request.param == "file" else None

    def factory(**config: object) -> Log:
        log = Log(directory, LogConfig(**config))  # type: ignore[arg-type]
        opened.append(log)
        return log

    yield factory
    for log in opened:
        log.close()
