"""A class-data-sharing archive for the Kafka CLI tools: their JVMs start in about half the time.

A CLI tool's JVM spends most of its start-up loading and verifying the same few thousand classes
from the Kafka jars; the suite runs these tools well over a hundred times. The first run that
finds no archive writes one at its exit (-XX:ArchiveClassesAtExit); later runs map it
(-XX:SharedArchiveFile). The archive's name hashes the java binary, the jars and the JVM options,
so a changed classpath or JDK gets a new one; a stale or unusable archive only costs the speed
(-Xshare:auto falls back to loading the classes). JVM log lines go to stderr, so stdout stays
the tool's own output whatever the JVM says about the archive.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.kafka.classpath import cache_root, java_executable

# every JVM message at warning level or above on stderr, none on stdout
LOG_TO_STDERR: tuple[str, ...] = ("-Xlog:disable", "-Xlog:all=warning:stderr")


@functools.cache
def archive_path(classpath: Path, jvm_opts: tuple[str, ...]) -> Path:
    """Where the archive for these jars, this java and these options lives."""
    java = Path(java_executable()).resolve()
    digest = hashlib.sha256()
    digest.update(f"{java}:{java.stat().st_mtime_ns}\n".encode())
    digest.update("\n".join(jvm_opts).encode())
    for jar in sorted(classpath.glob("*.jar")):
        stat = jar.stat()
        digest.update(f"\n{jar.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return cache_root() / "cds" / f"kafka-tools-{digest.hexdigest()[:16]}.jsa"


def use_options(archive: Path) -> tuple[str, ...]:
    """JVM options of a tool run: map the archive when there is one."""
    if archive.is_file():
        return (f"-XX:SharedArchiveFile={archive}", *LOG_TO_STDERR)
    return LOG_TO_STDERR


@contextlib.contextmanager
def writing(archive: Path) -> Iterator[Sequence[str]]:
    """JVM options that make one run write the archive at its exit; it is put in place (an
    atomic rename: concurrent runs and test processes each write their own copy) only when
    the body returns, i.e. the JVM exited on its own."""
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache: the tools run without an archive, only slower
        yield LOG_TO_STDERR
        return
    partial = archive.with_name(f"{archive.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield (f"-XX:ArchiveClassesAtExit={partial}", *LOG_TO_STDERR)
        if partial.is_file() and partial.stat().st_size > 0:
            os.replace(partial, archive)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
