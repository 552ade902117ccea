"""The brokers' progress on the metadata log as the controller sees it in their fetches
(DescribeQuorum's observers)."""

from __future__ import annotations

import time
from dataclasses import dataclass


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class Progress:
    log_end_offset: int
    last_fetch_ms: int
    last_caught_up_ms: int


class Followers:
    """Each broker's last fetch offset, when it fetched, and when it last was caught up."""

    def __init__(self) -> None:
        self.progress: dict[int, Progress] = {}

    def fetched(self, broker_id: int, offset: int, end: int) -> None:
        if broker_id < 0:
            return
        now = _wall_ms()
        seen = self.progress.get(broker_id)
        # a fetch from the log end means the broker has everything before it
        caught_up = now if offset >= end else (seen.last_caught_up_ms if seen else -1)
        self.progress[broker_id] = Progress(offset, now, caught_up)
