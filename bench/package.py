"""Bundle size and cold start of the frozen app against `python -m desktop` (after `make package`).

`python -m bench.package [--runs N]`. Prints JSON lines and ends with
{"summary": {"bundle_mb": .., "frozen_cold_start_s": .., "source_cold_start_s": ..}}.

Cold start is the time from spawning the process to the main window's first paint. The app
reports that moment when TOPICSCOPE_EXIT_AFTER_PAINT=1 is set: it prints a line starting with
FIRST_PAINT_MARKER on stdout and exits. An app without that hook is timed over a whole
`--self-test` instead (broker start, produce and read back included: an upper bound), and the
summary says so in "cold_start_method". Each figure is the median of --runs fresh processes; the
first run of each is reported as well (the OS file cache is warm after the first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from bench.support import emit

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "dist" / "topicscope"
FROZEN_EXE = BUNDLE / "topicscope"
PAINT_ENV = "TOPICSCOPE_EXIT_AFTER_PAINT"
FIRST_PAINT_MARKER = "TOPICSCOPE_FIRST_PAINT"
TIMEOUT_S = 180.0


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


def disk_usage_mb(path: Path) -> tuple[float, float, int]:
    """(allocated MB as du counts it, apparent MB, file count) of a directory tree."""
    allocated = apparent = files = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            allocated += st.st_blocks * 512
            apparent += st.st_size
            files += 1
    return round(allocated / 2**20, 1), round(apparent / 2**20, 1), files


def app_has_paint_hook() -> bool:
    """Whether the desktop sources (which the bundle is built from) honour PAINT_ENV."""
    return any(
        PAINT_ENV in path.read_text(encoding="utf-8", errors="replace")
        for path in (ROOT / "desktop").rglob("*.py")
    )


def time_start(
    command: Sequence[str], use_paint_hook: bool, extra_env: dict[str, str] | None = None
) -> float:
    """Seconds from spawn to the first-paint marker (or to a successful exit without the hook)."""
    with tempfile.TemporaryDirectory(prefix="topicscope-bench-") as home:
        env = dict(os.environ)
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=f"{home}/.config",
            XDG_DATA_HOME=f"{home}/.local/share",
            XDG_CACHE_HOME=f"{home}/.cache",
            TOPICSCOPE_CONFIG_DIR=f"{home}/config",
            QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        )
        env.update(extra_env or {})
        if use_paint_hook:
            env[PAINT_ENV] = "1"
        argv = list(command) if use_paint_hook else [*command, "--self-test"]
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=home,  # neither build may depend on the current directory
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            painted: float | None = None
            for line in proc.stdout:
                if use_paint_hook and line.startswith(FIRST_PAINT_MARKER) and painted is None:
                    painted = time.perf_counter() - start
            code = proc.wait(timeout=TIMEOUT_S)
            ended = time.perf_counter() - start
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {code}")
    if use_paint_hook:
        if painted is None:
            raise RuntimeError(f"{' '.join(argv)} never printed {FIRST_PAINT_MARKER}")
        return painted
    return ended


def measure(
    label: str,
    command: Sequence[str],
    runs: int,
    use_paint_hook: bool,
    extra_env: dict[str, str] | None = None,
) -> float:
    times = []
    for run in range(1, runs + 1):
        seconds = time_start(command, use_paint_hook, extra_env)
        times.append(seconds)
        emit({"bench": "package", "target": label, "run": run, "cold_start_s": round(seconds, 3)})
    median = statistics.median(times)
    emit(
        {
            "bench": "package",
            "target": label,
            "first_run_s": round(times[0], 3),
            "median_s": round(median, 3),
            "runs": runs,
        }
    )
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.package", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="processes per target (default 3)")
    args = parser.parse_args(argv)

    if not FROZEN_EXE.is_file():
        print(
            f"{FROZEN_EXE.relative_to(ROOT)} does not exist: run `make package` first.",
            file=sys.stderr,
        )
        return 2

    allocated_mb, apparent_mb, files = disk_usage_mb(BUNDLE)
    record: dict[str, object] = {
        "bench": "package",
        "bundle": str(BUNDLE.relative_to(ROOT)),
        "bundle_mb": allocated_mb,
        "apparent_mb": apparent_mb,
        "files": files,
    }
    debs = sorted((ROOT / "dist").glob(f"topicscope_{project_version()}_*.deb"))
    if debs:
        record["deb"] = debs[-1].name
        record["deb_mb"] = round(debs[-1].stat().st_size / 2**20, 1)
    emit(record)

    hook = app_has_paint_hook()
    method = "first-paint" if hook else "self-test"
    frozen = measure("frozen", [str(FROZEN_EXE)], args.runs, hook)
    source = measure(
        "source", [sys.executable, "-m", "desktop"], args.runs, hook, {"PYTHONPATH": str(ROOT)}
    )
    emit(
        {
            "summary": {
                "bundle_mb": allocated_mb,
                "frozen_cold_start_s": round(frozen, 3),
                "source_cold_start_s": round(source, 3),
                "cold_start_method": method,
            }
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
