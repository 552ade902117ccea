"""Build java command lines for Kafka brokers and CLI tools from the cached classpath."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tests.kafka.classpath import classpath_arg, java_executable

# Start-up matters more than peak speed in tests: C1 only and the serial collector keep JVM
# start-up short and leave the two CI cores to the tests. Override per cluster for benchmarks.
BROKER_JVM_OPTS: tuple[str, ...] = (
    "-Xmx512m",
    "-Xms256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
)
CONTROLLER_JVM_OPTS: tuple[str, ...] = ("-Xmx256m", "-Xms128m", *BROKER_JVM_OPTS[2:])
# UTF-8 on stdin/stdout whatever the locale (CI often runs with LANG unset, i.e. ASCII).
UTF8_OPTS: tuple[str, ...] = (
    "-Dfile.encoding=UTF-8",
    "-Dsun.stdout.encoding=UTF-8",
    "-Dsun.stderr.encoding=UTF-8",
)
CLI_JVM_OPTS: tuple[str, ...] = (
    "-Xmx256m",
    "-Xms32m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
    *UTF8_OPTS,
)

# Broker: INFO to stdout (the harness redirects it to the node's log file), chatty loggers muted.
BROKER_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""

# CLI tools: only warnings, and on stderr, so stdout carries nothing but the tool's output.
TOOLS_LOG4J2 = """\
status = error
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
"""


def log4j_config(directory: Path, name: str, text: str) -> Path:
    """Write (or reuse) a log4j2 properties file and return its path."""
    path = directory / name
    if not path.is_file() or path.read_text() != text:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def java_command(
    classpath: Path,
    main_class: str,
    args: Sequence[str],
    *,
    jvm_opts: Sequence[str],
    log4j_file: Path,
) -> list[str]:
    return [
        java_executable(),
        *jvm_opts,
        f"-Dlog4j2.configurationFile={log4j_file}",
        "-cp",
        classpath_arg(classpath),
        main_class,
        *args,
    ]
