"""Partition-log fixtures shared with the storage tests."""

from tests.unit.storage.conftest import open_log

__all__ = ["open_log"]
