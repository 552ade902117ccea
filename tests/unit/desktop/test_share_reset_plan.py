"""A share group's reset plan: what each partition is set to, and what is refused."""

from __future__ import annotations

from desktop.domain.groups import ResetMode, ResetRequest
from desktop.services.share_reset import SHIFT_REFUSAL, share_plan

KEYS = [("t", 0), ("t", 1)]
LOW = {("t", 0): 5, ("t", 1): 0}
HIGH = {("t", 0): 20, ("t", 1): 10}


def plan(mode: ResetMode, value: int = 0) -> dict[int, tuple[int | None, int, str]]:
    req = ResetRequest("g", "t", (), mode, value, share=True)
    got = share_plan(req, "Empty", KEYS, current={("t", 0): 12}, low=LOW, high=HIGH, at_time={})
    return {r.partition: (r.current, r.new, r.refused) for r in got.rows}


def test_to_an_offset_sets_partitions_without_state_and_clamps_into_the_log() -> None:
    # unlike a consumer group's reset, a share partition never started may be given an offset
    assert plan(ResetMode.OFFSET, 3) == {0: (12, 5, ""), 1: (None, 3, "")}
    assert plan(ResetMode.OFFSET, 99) == {0: (12, 20, ""), 1: (None, 10, "")}


def test_earliest_and_latest_are_the_log_bounds() -> None:
    assert plan(ResetMode.EARLIEST) == {0: (12, 5, ""), 1: (None, 0, "")}
    assert plan(ResetMode.LATEST) == {0: (12, 20, ""), 1: (None, 10, "")}


def test_a_shift_needs_a_start_offset() -> None:
    assert plan(ResetMode.SHIFT, -4) == {0: (12, 8, ""), 1: (None, 0, SHIFT_REFUSAL)}
