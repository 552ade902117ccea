"""Partition log storage: segments with sparse offset/time indexes, on disk or in memory."""

from embedded_broker.storage.api import AppendInfo, OffsetOutOfRange, PartitionLog, StorageError
from embedded_broker.storage.config import LogConfig
from embedded_broker.storage.log import Log
from embedded_broker.storage.manager import LogManager

__all__ = [
    "AppendInfo",
    "Log",
    "LogConfig",
    "LogManager",
    "OffsetOutOfRange",
    "PartitionLog",
    "StorageError",
]
