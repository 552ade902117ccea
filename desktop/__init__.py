"""Topicscope desktop app: a Qt explorer for Apache Kafka clusters."""
