"""Qt-free domain objects: what the app knows about clusters, topics and partitions."""
