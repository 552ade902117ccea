"""The groups refresh runs in a helper process: the screen outlives it; it ends with the screen."""

from __future__ import annotations

import os
import signal

from pytestqt.qtbot import QtBot

from desktop.services.local_process import pid_alive
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import WAIT_MS
from tests.gui.test_groups_support import commit_offsets, create_topic, groups_page, unique


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
