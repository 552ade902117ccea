"""The group detail's time lag read past transaction markers: GroupsAdmin with a prompt peek.

Kept beside desktop/services/groups.py while that module is being reworked; its
`message_times` can take this body (and this subclass go) once that work has landed."""

from __future__ import annotations

import time
from collections.abc import Sequence

from desktop.services.groups import GroupsAdmin, TimeCache
from desktop.services.record_times import Spot, first_records, peek_config


class PromptTimesGroupsAdmin(GroupsAdmin):
    """A committed offset at a transaction marker (or before aborted data) with nothing
    readable after it has no record to take a time from: the peek used to wait its whole
    5 s for one; it now sees the partition's end and says the group is current."""

    def message_times(self, wanted: Sequence[Spot], cache: TimeCache) -> dict[Spot, float]:
        """Timestamp (s) of the first readable record at or after each spot, read once and
        cached. A spot with nothing readable left gets the time of the look (a time lag of
        about 0), not cached: the next record to arrive is the one to time. Spots that
        could not be read are retried later."""
        missing = cache.to_fetch(wanted)
        found = first_records(peek_config(self.admin), missing)
        cache.known.update(found.times)
        looked = time.monotonic()
        cache.failed.update(
            {s: looked for s in missing if s not in found.times and s not in found.none_left}
        )
        now = time.time()
        times = {s: now for s in found.none_left}
        times.update({s: cache.known[s] for s in wanted if s in cache.known})
        return times
