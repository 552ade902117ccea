"""Topicscope's built-in Kafka-wire-protocol broker."""
