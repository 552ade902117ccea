"""Consumer group coordinator: classic group membership and committed offsets, sans-IO."""

from .clock import Clock, ManualClock, Scheduler, SystemClock, Timer
from .coordinator import CoordinatorConfig, GroupCoordinator
from .errors import GroupError
from .journal import FileJournal, Journal, NullJournal
from .messages import (
    DescribedGroup,
    DescribedMember,
    JoinedMember,
    JoinRequest,
    JoinResult,
    LeaveResult,
    ListedGroup,
    OffsetCommitEntry,
    OffsetFetchEntry,
    SyncRequest,
    SyncResult,
)
from .state import GroupEvent, GroupState, IllegalTransitionError, next_state

__all__ = [
    "Clock",
    "CoordinatorConfig",
    "DescribedGroup",
    "DescribedMember",
    "FileJournal",
    "GroupCoordinator",
    "GroupError",
    "GroupEvent",
    "GroupState",
    "IllegalTransitionError",
    "JoinRequest",
    "JoinResult",
    "JoinedMember",
    "Journal",
    "LeaveResult",
    "ListedGroup",
    "ManualClock",
    "NullJournal",
    "OffsetCommitEntry",
    "OffsetFetchEntry",
    "Scheduler",
    "SyncRequest",
    "SyncResult",
    "SystemClock",
    "Timer",
    "next_state",
]
