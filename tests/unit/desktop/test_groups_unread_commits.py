"""Committed offsets that could not be read are unknown, never "no commits" (built-in broker).

The broker holds real commits; only the answer to the offsets fetch is replaced by what a
loaded cluster gives at times: a timeout, or a partition answered with an error.
"""

from __future__ import annotations

import concurrent.futures
import io
import re
import time
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from desktop.charts.lag import LagHistory
from desktop.domain.groups import GroupSummary
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.admin import ClusterAdmin, KafkaServiceError
from desktop.services.groups import GroupsAdmin, TimeCache
from desktop.services.groups_process import Refresher, read_frame
from tests.broker_fixtures import RunningBroker
from tests.failing_offsets import Delegating, OffsetsFetch, partition_error, timed_out
from tests.gui.test_groups_support import (
    commit_offsets,
    create_topic,
    group_consumer,
    produce,
    unique,
)


def groups_admin(bootstrap: str, answer: Any) -> GroupsAdmin:
    admin = ClusterAdmin(ClusterProfile("t", bootstrap), Credentials(), 10.0, "test")
    fake = OffsetsFetch(admin.client, answer)
    return GroupsAdmin(_Admin(admin, fake))  # type: ignore[arg-type]  # duck-typed admin


class _Admin(Delegating):
    """The ClusterAdmin with its client swapped."""

    def __init__(self, real: ClusterAdmin, client: Any) -> None:
        super().__init__(real)
        self.client = client


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
    # a group never read has an unknown lag, with the reason: never "no commits"
    listed = [g for g in ga.list_groups() if g.group_id == gid]
    (summary,) = ga.summaries(listed)
    assert summary.lag_text(summary.total_lag) == "unknown"
    assert summary.totals_text() == "lag unknown"
    assert not summary.offsets_loaded and not summary.stale
    assert re.fullmatch(
        r"offsets could not be read at \d\d:\d\d:\d\d: .+; the lag is unknown until they can",
        summary.unread_note(),
    ), summary.unread_note()

    # the same group read normally: two partitions with commits, lag 6 + 4
    real = GroupsAdmin(ga.admin.real)
    assert real.detail(gid, TimeCache()).summary.totals_text() == "lag 10"


def _refreshed(refresher: Refresher) -> dict[str, GroupSummary]:
    """One refresh of the groups helper's own code; the summaries it sent, by group."""
    out = refresher.out
    assert isinstance(out, io.BytesIO)
    out.seek(0)
    out.truncate()
    refresher.refresh((), 1000)
    out.seek(0)
    sent: dict[str, GroupSummary] = {}
    while out.tell() < len(out.getbuffer()):
        kind, payload = read_frame(out)
        assert kind != "failed", payload
        if kind == "stage":
            sent.update((g.group_id, g) for g in payload)
    return sent


@pytest.mark.parametrize("how", ["timeout", "partition error"])
def test_a_failed_offsets_fetch_keeps_the_last_known_lag_marked_stale(
    builtin_broker: RunningBroker, group: tuple[str, str], how: str
) -> None:
    topic, gid = group
    failing = timed_out if how == "timeout" else partition_error(topic)
    fail = [False]
    admin = ClusterAdmin(ClusterProfile("t", builtin_broker.bootstrap), Credentials(), 10.0, "t")
    fake = OffsetsFetch(admin.client, lambda g: failing(g) if fail[0] and g == gid else None)
    refresher = Refresher(_Admin(admin, fake), io.BytesIO())  # type: ignore[arg-type]
    history = LagHistory()
    shown: dict[str, GroupSummary] = {}

    def refresh(t: float) -> GroupSummary:
        shown.update(_refreshed(refresher))
        history.add_groups(t, shown.values())  # as the groups screen records each refresh
        return shown[gid]

    read = refresh(1.0)
    assert read.total_lag == 10

    fail[0] = True
    stale = refresh(2.0)
    # the last known numbers, marked: when the fetch failed, why, and when they were read
    assert (stale.total_lag, stale.max_lag, stale.topics) == (10, 6, (topic,))
    assert stale.stale and stale.offsets_loaded and not read.stale
    assert stale.lag_text(stale.total_lag) == 10 and stale.totals_text() == "lag 10"
    assert re.fullmatch(
        r"offsets could not be read at \d\d:\d\d:\d\d: .+; "
        r"showing the last known values from \d\d:\d\d:\d\d",
        stale.unread_note(),
    ), stale.unread_note()
    assert stale.offsets_read_at <= stale.offsets_failed_at
    again = refresh(3.0)
    assert again.stale and again.offsets_read_at == stale.offsets_read_at
    assert again.offsets_failed_at >= stale.offsets_failed_at

    fail[0] = False
    commit_offsets(builtin_broker.bootstrap, gid, {(topic, 0): 9})
    fresh = refresh(4.0)
    assert (fresh.total_lag, fresh.stale, fresh.offsets_error) == (5, False, "")
    # the lag chart has points from the two reads only, none from the failed ones
    times, lags = history.total[gid].arrays()
    assert list(lags) == [10.0, 5.0] and list(times) == [0.0, 3.0]


def test_a_topics_consumer_whose_offsets_cannot_be_read_is_unknown_not_without_commits(
    builtin_broker: RunningBroker, group: tuple[str, str]
) -> None:
    """The topic's Consumers tab: a group with a member on the topic, its fetch timing out."""
    topic, _gid = group
    bootstrap, gid = builtin_broker.bootstrap, unique("g-member")
    member = group_consumer(bootstrap, gid)
    try:
        member.subscribe([topic])
        deadline = time.monotonic() + 60
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(0.1)
        assert member.assignment()
        ga = groups_admin(bootstrap, lambda g: timed_out(g) if g == gid else None)
        (found,) = [g for g in ga.topic_consumers(topic).consumers if g.group_id == gid]
        assert found.lag_text(found.total_lag) == "unknown"
        assert found.totals.unread_text() == "" and not found.has_commits
        assert found.unread_note().endswith("; the lag is unknown until they can")
    finally:
        member.close()


@pytest.mark.parametrize("how", ["timeout", "partition error"])
def test_a_topics_consumer_without_members_whose_offsets_cannot_be_read_is_shown_marked(
    builtin_broker: RunningBroker, group: tuple[str, str], how: str
) -> None:
    """The topic's Consumers tab: an Empty group with commits on the topic, its offsets fetch
    failing. It was left out, as if it did not read the topic; then it was shown on every
    topic. Never read: listed apart, its lag unknown and why; read before: its row stays."""
    topic, gid = group
    answer = timed_out if how == "timeout" else partition_error(topic)
    ga = groups_admin(builtin_broker.bootstrap, lambda g: answer(g) if g == gid else None)
    # never read on this screen: apart, not a consumer, the lag unknown, and why
    got = ga.topic_consumers(topic)
    assert gid not in [g.group_id for g in got.consumers]
    (found,) = [g for g in got.unread if g.group_id == gid]
    assert found.lag_text(found.total_lag) == "unknown" and not found.stale
    assert found.members == 0
    assert found.unread_note().endswith("; the lag is unknown until they can")
    assert f"whether it reads '{topic}' is unknown: {gid}." in got.unread_text()

    # read before (the rows on screen): the last known lag stays, marked stale
    real = GroupsAdmin(ga.admin.real)
    (shown,) = [g for g in real.topic_consumers(topic).consumers if g.group_id == gid]
    assert (shown.total_lag, shown.stale) == (10, False)
    (kept,) = [g for g in ga.topic_consumers(topic, {gid: shown}).consumers if g.group_id == gid]
    assert (kept.total_lag, kept.max_lag, kept.stale) == (10, 6, True)
    assert kept.offsets_read_at == shown.offsets_read_at > 0
    assert re.fullmatch(
        r"offsets could not be read at \d\d:\d\d:\d\d: .+; "
        r"showing the last known values from \d\d:\d\d:\d\d",
        kept.unread_note(),
    ), kept.unread_note()


class _EndsFail(Delegating):
    """The real AdminClient, but every log-end/start offset of `topic` fails to be read."""

    def __init__(self, real: Any, topic: str) -> None:
        super().__init__(real)
        self.topic = topic

    def list_offsets(self, specs: dict[Any, Any], **kw: Any) -> Any:
        mine = {tp for tp in specs if tp.topic == self.topic}
        rest = {tp: s for tp, s in specs.items() if tp not in mine}
        out = dict(self.real.list_offsets(rest, **kw)) if rest else {}
        for tp in mine:
            fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
            fut.set_exception(KafkaException(KafkaError(KafkaError.LEADER_NOT_AVAILABLE)))
            out[tp] = fut
        return out


def test_a_topics_consumer_whose_log_end_offsets_cannot_be_read_is_marked(
    builtin_broker: RunningBroker, group: tuple[str, str]
) -> None:
    """The topic's watermarks failing: the group's lag there is unknown and says why, or the
    last known, marked stale; never a bare "unknown" with no reason."""
    topic, gid = group
    real = GroupsAdmin(
        ClusterAdmin(ClusterProfile("t", builtin_broker.bootstrap), Credentials(), 10.0, "t")
    )
    (shown,) = [g for g in real.topic_consumers(topic).consumers if g.group_id == gid]
    ga = GroupsAdmin(_Admin(real.admin, _EndsFail(real.admin.client, topic)))  # type: ignore[arg-type]
    (found,) = [g for g in ga.topic_consumers(topic).consumers if g.group_id == gid]
    assert found.lag_text(found.total_lag) == "unknown"
    assert f"the log-end offset of {topic}-0 and 1 more could not be read" in found.unread_note()
    (kept,) = [g for g in ga.topic_consumers(topic, {gid: shown}).consumers if g.group_id == gid]
    assert (kept.total_lag, kept.stale) == (10, True)
