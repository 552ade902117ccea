"""Test connection as a job: a one-off client for a profile that may not be saved yet."""

from __future__ import annotations

from desktop.domain.cluster import ConnectionResult
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.connection import TEST_TIMEOUT_S, test_connection
from desktop.services.probe import PROBE_DEADLINE_S
from desktop.workers.jobs import Job, JobContext, Lane

# the test's own timeout, a probe before and after it, and room for a loaded machine
TEST_DEADLINE_S = TEST_TIMEOUT_S + 2 * PROBE_DEADLINE_S + 15


def connection_test_job(profile: ClusterProfile, creds: Credentials) -> Job:
    """Its own stream thread, so a test never waits behind (or holds up) another job; its
    token ends the test within a slice when the dialog closes."""

    def work(ctx: JobContext) -> ConnectionResult:
        return test_connection(profile, creds, token=ctx.token)

    return Job("connection test", work, lane=Lane.STREAM, deadline_s=TEST_DEADLINE_S)
