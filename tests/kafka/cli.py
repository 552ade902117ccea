"""Run the Apache Kafka command-line tools by their usual names from the cached classpath.

run_cli("kafka-topics", ["--bootstrap-server", bs, "--list"]) -> CompletedProcess[str]
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.kafka import cds
from tests.kafka.classpath import cache_root, ensure_classpath
from tests.kafka.jvm import CLI_JVM_OPTS, TOOLS_LOG4J2, java_command, log4j_config

# Main classes as shipped in Kafka 4.3.1 (checked against the jars: kafka-tools and kafka_2.13).
MAIN_CLASSES: dict[str, str] = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-configs": "kafka.admin.ConfigCommand",
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-storage": "kafka.tools.StorageTool",
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "kafka-reassign-partitions": "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
    "kafka-leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
    "kafka-acls": "org.apache.kafka.tools.AclCommand",
    "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
    "kafka-log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-features": "org.apache.kafka.tools.FeatureCommand",
    "kafka-console-share-consumer": "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
    "kafka-share-groups": "org.apache.kafka.tools.consumer.group.ShareGroupCommand",
}


def _tool_name(name: str) -> str:
    tool = name.removesuffix(".sh")
    if tool not in MAIN_CLASSES:
        known = ", ".join(sorted(MAIN_CLASSES))
        raise ValueError(f"unknown Kafka CLI tool {name!r}; known tools: {known}")
    return tool


@dataclass(frozen=True)
class KafkaCli:
    """Runs Kafka CLI tools as a user would, with a small heap and quiet logging."""

    classpath: Path
    log4j_file: Path
    jvm_opts: tuple[str, ...] = field(default=CLI_JVM_OPTS)

    def command(
        self, name: str, args: Sequence[str], *, cds_opts: Sequence[str] | None = None
    ) -> list[str]:
        """The java command line of a tool; it maps the tools' class-data archive when there
        is one (``cds_opts`` replaces that choice)."""
        main_class = MAIN_CLASSES[_tool_name(name)]
        if cds_opts is None:
            cds_opts = cds.use_options(self._archive())
        return java_command(
            self.classpath,
            main_class,
            args,
            jvm_opts=(*self.jvm_opts, *cds_opts),
            log4j_file=self.log4j_file,
        )

    def _archive(self) -> Path:
        return cds.archive_path(self.classpath, self.jvm_opts)

    def run(
        self,
        name: str,
        args: Sequence[str],
        *,
        input: str | None = None,
        timeout: float = 60,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run one tool to completion; stdout is the tool's output, log lines go to stderr.

        `input` is fed to stdin and stdin is then closed (so console producers finish).
        """
        archive = self._archive()
        with contextlib.ExitStack() as stack:
            # the first run with no archive writes it at its exit, for every later one
            cds_opts = None if archive.is_file() else stack.enter_context(cds.writing(archive))
            proc = subprocess.run(
                self.command(name, args, cds_opts=cds_opts),
                input=input if input is not None else "",
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                check=False,
            )
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(
                proc.returncode, proc.args, output=proc.stdout, stderr=proc.stderr
            )
        return proc


def default_cli() -> KafkaCli:
    """A KafkaCli on the ensured classpath (resolves jars with Maven on first use)."""
    classpath = ensure_classpath()
    return KafkaCli(
        classpath=classpath,
        log4j_file=log4j_config(cache_root() / "conf", "tools-log4j2.properties", TOOLS_LOG4J2),
    )


def run_cli(
    name: str,
    args: Sequence[str],
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a Kafka CLI tool by its usual name (with or without `.sh`)."""
    return default_cli().run(name, args, input=input, timeout=timeout)
