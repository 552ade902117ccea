"""Tests for embedded_broker.storage and the record-batch parser."""
