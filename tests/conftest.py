"""Shared pytest plugins: the real Apache Kafka harness and the built-in broker fixtures."""

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Qt tests run headless wherever they are collected from (the GUI conftest sets this too, but
# tests/unit/desktop may run without it)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.kafka.fixtures", "tests.broker_fixtures"]


@pytest.fixture(scope="session")
def qapp(qapp: Any) -> Iterator[Any]:
    """pytest-qt's application, with reference cycles collected on the GUI thread as the app
    does (a collection in a worker thread that frees a Qt object aborts the process)."""
    from desktop.app import start_collector

    collector = start_collector(qapp)
    yield qapp
    collector.stop()
