"""Shared pytest plugins: the real Apache Kafka harness and the built-in broker fixtures."""

pytest_plugins = ["tests.kafka.fixtures", "tests.broker_fixtures"]
