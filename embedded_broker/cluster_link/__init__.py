"""A broker's link to the cluster controller: registration, heartbeats, the metadata it
follows, and the admin requests it forwards."""
