"""The app's executable runs a broker node, not the GUI, when its first argument is --broker
(how a frozen bundle starts cluster nodes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_broker_flag_hands_the_arguments_to_topicscope_broker(tmp_path: Path) -> None:
    # a cluster of 0 brokers is refused by topicscope-broker's own argument checks
    command = ["--broker", "--brokers", "0", "--data-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "desktop", *command],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--brokers must be 1 (one node) or at least 2" in done.stderr
