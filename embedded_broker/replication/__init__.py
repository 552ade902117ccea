"""Replication: per-partition leader/follower state, purgatories and follower fetchers."""
