"""A topic whose files cannot be written is not created at all: not in memory, not on disk."""

from __future__ import annotations

import asyncio
import datetime
import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from kio.schema.create_topics.v7 import request as create_v7
from kio.schema.errors import ErrorCode
from kio.static.primitive import i32Timedelta

from embedded_broker import registry as registry_module
from embedded_broker.config import BrokerConfig
from embedded_broker.handlers import API_TABLE, RequestContext
from embedded_broker.registry import RegistryWriteError, TopicRegistry
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError
from embedded_broker.storage import manager as manager_module
from embedded_broker.storage.log import Log


def enospc(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def saved_topics(data_dir: Path) -> list[str]:
    path = data_dir / "topics.json"
    if not path.exists():  # nothing was ever saved
        return []
    return [t["name"] for t in json.loads(path.read_text())["topics"]]


def test_a_registry_change_that_cannot_be_saved_is_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = TopicRegistry(tmp_path)
    registry.add("kept", 1, {}, False)
    # use up the reserved block of producer ids, so the next id needs a save
    pid = registry.allocate_producer_id()
    while pid < registry.next_producer_id - 1:
        pid = registry.allocate_producer_id()
    monkeypatch.setattr(registry_module, "write_atomically", enospc)
    with pytest.raises(RegistryWriteError, match="Free disk space"):
        registry.add("new", 2, {}, False)
    with pytest.raises(RegistryWriteError):
        registry.remove("kept")
    with pytest.raises(RegistryWriteError):
        registry.allocate_producer_id()
    assert set(registry.topics) == {"kept"} and len(registry.by_id) == 1
    monkeypatch.undo()
    assert registry.allocate_producer_id() == pid + 1
    assert saved_topics(tmp_path) == ["kept"]
    assert set(TopicRegistry(tmp_path).topics) == {"kept"}


def _request(name: str, partitions: int) -> create_v7.CreateTopicsRequest:
    return create_v7.CreateTopicsRequest(
        topics=(
            create_v7.CreatableTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=1,
                assignments=(),
                configs=(),
            ),
        ),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=30)),
        validate_only=False,
    )


async def _create(state: BrokerState, name: str, partitions: int) -> Any:
    context = RequestContext(19, 7, 1, "test", "127.0.0.1", 1, "127.0.0.1", 9092)
    response = await API_TABLE[19].handler(context, _request(name, partitions), state)
    (result,) = response.topics
    return result


def test_create_topics_whose_partition_cannot_be_created_answers_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = BrokerState(BrokerConfig(), tmp_path)

    class ThirdFails(Log):
        def __init__(self, directory: Path | None, config: Any) -> None:
            if directory is not None and directory.name == "half-2":  # mkdir on a full disk
                enospc()
            super().__init__(directory, config)

    async def run() -> None:
        try:
            monkeypatch.setattr(manager_module, "Log", ThirdFails)
            result = await _create(state, "half", 4)
            assert result.error_code == ErrorCode.kafka_storage_error
            assert "half" in result.error_message and "free space" in result.error_message
            assert "half" not in state.topics
            assert state.partition("half", 0) is None
            assert "half" not in saved_topics(tmp_path)
            assert not list(tmp_path.glob("half-*"))
            monkeypatch.undo()
            assert (await _create(state, "half", 4)).error_code == ErrorCode.none
        finally:
            await state.shutdown()

    asyncio.run(run())
    state = BrokerState(BrokerConfig(), tmp_path)
    try:
        assert state.topics["half"].partitions == 4
    finally:
        asyncio.run(state.shutdown())


def test_create_topic_with_topics_json_unwritable_raises_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = BrokerState(BrokerConfig(), tmp_path)
    try:
        monkeypatch.setattr(registry_module, "write_atomically", enospc)
        with pytest.raises(StorageError):
            state.create_topic("nope", 2, {})
        assert "nope" not in state.topics
        assert not list(tmp_path.glob("nope-*"))
    finally:
        monkeypatch.undo()
        asyncio.run(state.shutdown())
