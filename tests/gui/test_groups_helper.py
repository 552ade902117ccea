"""The groups refresh runs in a helper process: the screen outlives it; it ends with the screen;
it sends summaries, and the selected group's partitions come with its detail."""

from __future__ import annotations

import os
import signal

from pytestqt.qtbot import QtBot

from desktop.models.groups import GroupsModel
from desktop.services.local_process import pid_alive
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups import cells, select
from tests.gui.test_groups_support import (
    commit_offsets,
    create_topic,
    groups_page,
    produce,
    unique,
)


def test_a_killed_helper_is_replaced_and_a_closed_screen_ends_it(
    qtbot: QtBot, builtin_broker: RunningBroker
) -> None:
    bootstrap = builtin_broker.bootstrap
    topic, first, later = unique("helper"), unique("g-first"), unique("g-later")
    create_topic(bootstrap, topic, 1)
    commit_offsets(bootstrap, first, {(topic, 0): 0})
    with groups_page(qtbot, bootstrap) as page:
        qtbot.waitUntil(lambda: first in page.poller.groups, timeout=WAIT_MS)
        helper = page.poller.helper
        pid = helper.pid
        assert pid is not None and pid != os.getpid() and pid_alive(pid)

        os.kill(pid, signal.SIGKILL)
        commit_offsets(bootstrap, later, {(topic, 0): 0})
        # the next refresh starts a new helper, which finds the new group
        qtbot.waitUntil(lambda: later in page.poller.groups, timeout=WAIT_MS * 2)
        replaced = helper.pid
        assert replaced is not None and replaced != pid

        page.poller.close()
        qtbot.waitUntil(lambda: not pid_alive(replaced), timeout=WAIT_MS)


def test_the_helper_sends_summaries_and_the_detail_brings_the_partitions(
    qtbot: QtBot, builtin_broker: RunningBroker
) -> None:
    """Across the process boundary only summaries travel (at 5,000 groups, 90,000 partition
    objects fewer to unpickle on the GUI thread); the table's numbers are the full ones, and
    the selected group's partitions come with its detail."""
    bootstrap = builtin_broker.bootstrap
    topic, group = unique("brief"), unique("g-brief")
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, {0: 5, 1: 5, 2: 5})
    commit_offsets(bootstrap, group, {(topic, 0): 1, (topic, 1): 5})  # partition 2: none
    with groups_page(qtbot, bootstrap) as page:
        qtbot.waitUntil(
            lambda: (g := page.poller.groups.get(group)) is not None and g.offsets_loaded,
            timeout=WAIT_MS,
        )
        listed = page.poller.groups[group]
        assert listed.partitions == ()
        assert listed.topics == (topic,)
        assert (listed.total_lag, listed.max_lag, listed.has_commits) == (4, 4, True)
        assert listed.totals.unread_text() == "5 unread on 1 partition without a commit"
        assert cells(page, group)[GroupsModel.TOTAL_LAG] == "4"  # type: ignore[index]
        select(qtbot, page, group)
        detail = page.detail.detail
        assert detail is not None
        assert [(p.partition, p.lag) for p in detail.summary.partitions] == [
            (0, 4),
            (1, 0),
            (2, None),
        ]
        assert detail.summary.totals == listed.totals
