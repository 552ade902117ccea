"""The only place threads meet Qt: per-cluster job threads, the refresh poller, the local broker."""
