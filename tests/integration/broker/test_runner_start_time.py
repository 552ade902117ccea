"""BrokerRunner.start's timeout bounds starting the broker, not importing its code: the first
start in a process on a loaded machine spends seconds importing the server and handlers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# a finder that makes importing embedded_broker.server take IMPORT_DELAY_S, as a loaded
# 2-core machine does for real; then start() with a shorter timeout than that
SCRIPT = textwrap.dedent(
    """
    import sys, time

    class SlowServer:
        def find_spec(self, name, path=None, target=None):
            if name == "embedded_broker.server":
                time.sleep(float(sys.argv[1]))
            return None

    sys.meta_path.insert(0, SlowServer())
    from embedded_broker.runner import BrokerRunner

    runner = BrokerRunner(port=0, in_memory=True)
    address = runner.start(timeout=float(sys.argv[2]))
    print("started on", address.port)
    runner.stop()
    """
)
IMPORT_DELAY_S = 4.0
START_TIMEOUT_S = 3.0


def test_start_timeout_does_not_count_importing_the_broker() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(IMPORT_DELAY_S), str(START_TIMEOUT_S)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "started on" in done.stdout
