"""Committed offsets that could not be read are unknown, never "no commits" (built-in broker).

The broker holds real commits; only the answer to the offsets fetch is replaced by what a
loaded cluster gives at times: a timeout, or a partition answered with an error.
"""

from __future__ import annotations

import concurrent.futures
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.admin import ClusterAdmin, KafkaServiceError
from desktop.services.groups import GroupsAdmin, TimeCache
from tests.broker_fixtures import RunningBroker
from tests.gui.test_groups_support import commit_offsets, create_topic, produce, unique


class _Fetch:
    """The real AdminClient, but the offsets fetch answers `answer(group_id)`."""

    def __init__(self, real: Any, answer: Any) -> None:
        self.real = real
        self.answer = answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def list_consumer_group_offsets(self, requests: Any, **_kw: Any) -> Any:
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        got = self.answer(requests[0].group_id)
        if isinstance(got, BaseException):
            fut.set_exception(got)
        else:
            fut.set_result(got)
        return {requests[0].group_id: fut}


def timed_out(_group: str) -> Any:
    return KafkaException(KafkaError(KafkaError._TIMED_OUT))


def partition_error(topic: str) -> Any:
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


def groups_admin(bootstrap: str, answer: Any) -> GroupsAdmin:
    admin = ClusterAdmin(ClusterProfile("t", bootstrap), Credentials(), 10.0, "test")
    fake = _Fetch(admin.client, answer)
    return GroupsAdmin(_Admin(admin, fake))  # type: ignore[arg-type]  # duck-typed admin


class _Admin:
    """The ClusterAdmin with its client swapped."""

    def __init__(self, real: ClusterAdmin, client: Any) -> None:
        self.real = real
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def group(builtin_broker: RunningBroker) -> tuple[str, str]:
    bootstrap = builtin_broker.bootstrap
    topic, group = unique("unread"), unique("g-unread")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: 10, 1: 10})
    commit_offsets(bootstrap, group, {(topic, 0): 4, (topic, 1): 6})
    return topic, group


@pytest.mark.parametrize("how", ["timeout", "partition error"])
def test_unread_commits_are_an_error_in_the_detail_and_unknown_in_the_list(
    builtin_broker: RunningBroker, group: tuple[str, str], how: str
) -> None:
    topic, gid = group
    answer = timed_out if how == "timeout" else partition_error(topic)
    ga = groups_admin(builtin_broker.bootstrap, answer)
    # the detail (whose summary the list row takes too) says the offsets could not be read
    with pytest.raises(KafkaServiceError, match="could not be read"):
        ga.detail(gid, TimeCache())
    # a refresh leaves the group's lag unknown: not loaded, so no "no commits" anywhere
    listed = [g for g in ga.list_groups() if g.group_id == gid]
    (summary,) = ga.summaries(listed)
    assert not summary.offsets_loaded
    assert summary.totals_text() is None and summary.lag_text(summary.total_lag) is None

    # the same group read normally: two partitions with commits, lag 6 + 4
    real = GroupsAdmin(ga.admin.real)
    assert real.detail(gid, TimeCache()).summary.totals_text() == "lag 10"
