"""The only place threads meet Qt: Jobs, and the runners whose lanes run them (per cluster, app)."""
