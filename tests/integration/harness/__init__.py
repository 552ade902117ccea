"""Tests proving the real Apache Kafka harness (tests/kafka) works."""
