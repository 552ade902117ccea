"""Resolve Apache Kafka 4.3.1 jars once into a cached classpath directory outside the repo.

`python -m tests.kafka.classpath` ensures the cache and prints its path (the Makefile runs it
before pytest). Later runs find the completion marker and never start Maven.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KAFKA_VERSION = "4.3.1"
POM = Path(__file__).with_name("pom.xml")
MARKER = ".complete.json"


class HarnessUnavailableError(RuntimeError):
    """A tool the real-Kafka harness needs (java, mvn) is not installed."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "topicscope"


def classpath_dir() -> Path:
    override = os.environ.get("TOPICSCOPE_KAFKA_CLASSPATH")
    return Path(override) if override else cache_root() / f"kafka-{KAFKA_VERSION}"


def java_executable() -> str:
    """The java binary: $JAVA_HOME/bin/java if set, else java on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise HarnessUnavailableError(
            "java not found: the real Apache Kafka tests need Java 17+ on PATH "
            "(Debian: apt-get install openjdk-17-jre-headless)"
        )
    return found


@functools.cache
def java_major_version() -> int:
    """The feature version of the java in use (8 for "1.8.0_x", 17 for "17.0.15")."""
    java = java_executable()
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if match is None:
        raise HarnessUnavailableError(f"could not tell the version of {java}: {out.strip()!r}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java17() -> None:
    """Raise HarnessUnavailableError unless java 17 or newer is available."""
    major = java_major_version()
    if major < 17:
        raise HarnessUnavailableError(
            f"Apache Kafka {KAFKA_VERSION} needs Java 17 or newer; {java_executable()} is Java "
            f"{major} (set JAVA_HOME or PATH to a newer JDK)"
        )


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def is_complete(directory: Path | None = None) -> bool:
    """True when the cache was fully written by this pom.xml and every jar is still there."""
    directory = directory or classpath_dir()
    try:
        marker = json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return False
    if marker.get("pom_sha256") != _pom_digest():
        return False
    jars = marker.get("jars") or []
    return bool(jars) and all((directory / name).is_file() for name in jars)


def _resolve_into(target: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise HarnessUnavailableError(
            f"mvn not found and no cached Kafka {KAFKA_VERSION} classpath at {target}: "
            "install Maven once (Debian: apt-get install maven) so the jars can be fetched"
        )
    require_java17()  # Maven needs java as well; fail with the clearer message.
    staging = Path(tempfile.mkdtemp(prefix=f".kafka-{KAFKA_VERSION}-", dir=target.parent))
    try:
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(
                f"Maven could not resolve Kafka {KAFKA_VERSION} (exit {proc.returncode}).\n"
                f"command: {' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        jars = sorted(p.name for p in staging.glob("*.jar"))
        if not any(name.startswith(f"kafka_2.13-{KAFKA_VERSION}") for name in jars):
            raise RuntimeError(f"Maven finished but kafka_2.13-{KAFKA_VERSION}.jar is missing")
        marker = {
            "kafka_version": KAFKA_VERSION,
            "pom_sha256": _pom_digest(),
            "jars": jars,
            "resolve_seconds": round(time.monotonic() - started, 1),
        }
        (staging / MARKER).write_text(json.dumps(marker, indent=1))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_classpath() -> Path:
    """Return the directory holding every Kafka jar, running Maven only if it is missing.

    A file lock serialises concurrent callers (parallel test runs on one machine).
    """
    target = classpath_dir()
    if is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".kafka-{KAFKA_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_complete(target):
            _resolve_into(target)
    return target


def classpath_arg(directory: Path) -> str:
    """A java -cp value: the directory wildcard (java expands it to every jar inside)."""
    return str(directory / "*")


def main() -> int:
    try:
        path = ensure_classpath()
    except HarnessUnavailableError as exc:
        # Outside CI the realkafka tests skip for this reason; in CI it is an error.
        print(f"warning: {exc}", file=sys.stderr)
        return 1 if os.environ.get("CI") == "true" else 0
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
