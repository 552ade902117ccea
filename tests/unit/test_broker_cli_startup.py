"""The topicscope-broker command starts every node of a local cluster: it must not pay for
hypothesis, which kio's types load whenever it is importable (as in dev environments)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_broker_command_module_loads_neither_kio_nor_hypothesis() -> None:
    # main() blocks hypothesis before the first kio import; a kio import at the top of
    # __main__ would load it (0.2 s of CPU and seconds of wall time on a busy machine, per node)
    probe = (
        "import sys, embedded_broker.__main__; "
        "print(sorted(m for m in ('kio', 'hypothesis') if sys.modules.get(m) is not None))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
