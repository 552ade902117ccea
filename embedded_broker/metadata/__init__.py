"""Cluster metadata as KRaft keeps it: typed records, their codec, the log and the image."""
