"""The cluster controller (node 100): owns the metadata log, registrations, fencing, elections."""
