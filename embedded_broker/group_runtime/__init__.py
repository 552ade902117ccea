"""The group coordinator of a cluster broker, kept in the replicated __consumer_offsets topic."""
