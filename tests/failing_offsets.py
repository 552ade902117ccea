"""Committed-offsets fetches that fail on demand, against a real broker (no tests here).

The real AdminClient answers everything but the offsets fetch, which answers what a loaded
cluster gives at times: a timeout, or a partition answered with an error. Run as a module, this
is the groups helper process, its fetches failing while the file named by FAIL_FLAG exists."""

from __future__ import annotations

import concurrent.futures
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from desktop.services import groups_process
from desktop.services.groups import GroupsAdmin

FAIL_FLAG = "TOPICSCOPE_TEST_FAIL_OFFSETS"  # the environment variable naming the flag file

Answer = Callable[[str], Any]  # group id -> an answer, an exception, or None (the broker's)


class Delegating:
    """Stands in for `real`: every attribute it does not define itself is `real`'s."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class OffsetsFetch(Delegating):
    """The real AdminClient, but the offsets fetch answers `answer(group_id)`."""

    def __init__(self, real: Any, answer: Answer) -> None:
        super().__init__(real)
        self.answer = answer

    def list_consumer_group_offsets(self, requests: Any, **kw: Any) -> Any:
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        got = self.answer(requests[0].group_id)
        if got is None:  # this time the broker's own answer
            return self.real.list_consumer_group_offsets(requests, **kw)
        if isinstance(got, BaseException):
            fut.set_exception(got)
        else:
            fut.set_result(got)
        return {requests[0].group_id: fut}


def timed_out(_group: str) -> Any:
    return KafkaException(KafkaError(KafkaError._TIMED_OUT))


def partition_error(topic: str) -> Answer:
    def answer(group: str) -> Any:
        bad = SimpleNamespace(
            topic=topic,
            partition=0,
            offset=-1001,
            metadata=None,
            error=KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS),
        )
        return SimpleNamespace(group_id=group, topic_partitions=[bad])

    return answer


class FailingGroupsAdmin(GroupsAdmin):
    """GroupsAdmin whose offsets fetches time out while the flag file exists."""

    @property
    def client(self) -> AdminClient:
        real = self.admin.client
        flag = os.environ.get(FAIL_FLAG, "")
        if flag and Path(flag).exists():
            return OffsetsFetch(real, timed_out)  # type: ignore[return-value]  # duck-typed
        return real


if __name__ == "__main__":
    groups_process.GroupsAdmin = FailingGroupsAdmin  # type: ignore[misc]
    sys.exit(groups_process.main())
