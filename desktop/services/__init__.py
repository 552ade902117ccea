"""Blocking confluent-kafka wrappers that take and return domain objects; no Qt here."""
