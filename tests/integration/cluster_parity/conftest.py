"""Fixtures of the parity tests: each test runs on the built-in cluster and on real Kafka."""

from .either_cluster import _tuned_kafka, either_cluster

__all__ = ["_tuned_kafka", "either_cluster"]
