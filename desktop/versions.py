"""The versions of Topicscope and the libraries it runs on, for About and bug reports."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata

import confluent_kafka
import PySide6
from PySide6.QtCore import qVersion


@dataclass(frozen=True)
class Versions:
    topicscope: str
    python: str
    qt: str
    pyside: str
    confluent_kafka: str
    librdkafka: str
    kio: str

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("Topicscope", self.topicscope),
            ("Qt", self.qt),
            ("PySide6", self.pyside),
            ("confluent-kafka", self.confluent_kafka),
            ("librdkafka", self.librdkafka),
            ("kio", self.kio),
            ("Python", self.python),
        ]


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def collect() -> Versions:
    return Versions(
        topicscope=_dist_version("topicscope"),
        python=platform.python_version(),
        qt=qVersion(),
        pyside=PySide6.__version__,
        confluent_kafka=_dist_version("confluent-kafka"),
        librdkafka=confluent_kafka.libversion()[0],
        kio=_dist_version("kio"),
    )
