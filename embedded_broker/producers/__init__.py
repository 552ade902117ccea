"""Idempotent-producer state per partition: sequence checks, rebuild from the log, snapshots."""
