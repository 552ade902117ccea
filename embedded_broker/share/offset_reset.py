"""Where a share group starts reading a partition it has no state for: share.auto.offset.reset
is latest, earliest, or by_duration:<ISO-8601 duration> (the first record no older than that),
as Kafka's share groups read it."""

from __future__ import annotations

import logging
import re

from embedded_broker.storage.api import PartitionLog, StorageError

log = logging.getLogger(__name__)

BY_DURATION = "by_duration:"
# Java's Duration.parse: PnDTnHnMn.nS, each part optional but at least one, signs allowed
_DURATION = re.compile(
    r"([-+]?)P(?:([-+]?\d+)D)?"
    r"(T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?)(\d+)(?:[.,](\d{0,9}))?S)?)?",
    re.IGNORECASE,
)
_MS = {"D": 86_400_000, "H": 3_600_000, "M": 60_000}


def duration_ms(text: str) -> int | None:
    """The duration in milliseconds, or None if ``text`` is not an ISO-8601 duration."""
    found = _DURATION.fullmatch(text)
    if found is None:
        return None
    sign, days, time_part, hours, minutes, sec_sign, seconds, fraction = found.groups()
    if time_part is not None and time_part.upper() == "T":
        return None  # a T must be followed by a part
    if days is None and time_part is None:
        return None
    total = 0
    for value, unit in ((days, "D"), (hours, "H"), (minutes, "M")):
        if value is not None:
            total += int(value) * _MS[unit]
    if seconds is not None:
        nanos = int(seconds) * 1_000_000_000 + int((fraction or "").ljust(9, "0"))
        total += (-1 if sec_sign == "-" else 1) * (nanos // 1_000_000)
    return -total if sign == "-" else total


def problem(value: str) -> str | None:
    """Why ``value`` is not a share.auto.offset.reset setting (None if it is)."""
    if value.lower() in ("latest", "earliest"):
        return None
    if value.lower().startswith(BY_DURATION):
        found = duration_ms(value[len(BY_DURATION) :])
        if found is not None and found >= 0:
            return None
    return (
        f"Invalid value {value}: share.auto.offset.reset is latest, earliest, or "
        "by_duration:<duration> with a duration of zero or more in ISO-8601 form (PnDTnHnMn.nS, "
        "e.g. by_duration:PT1H)"
    )


def kept(value: str) -> str:
    """The setting as saved: latest and earliest in lower case, a duration as given."""
    if value.lower().startswith(BY_DURATION):
        return BY_DURATION + value[len(BY_DURATION) :]
    return value.lower()


def start_offset(setting: str | None, plog: PartitionLog, high: int, now_ms: int) -> int:
    """The share-partition start offset for ``setting`` (latest when unset): by_duration starts
    at the first record whose timestamp is no older than the duration, or at the high
    watermark when there is none."""
    if setting == "earliest":
        return plog.log_start_offset
    if setting is not None and setting.startswith(BY_DURATION):
        duration = duration_ms(setting[len(BY_DURATION) :])
        if duration is not None:
            try:
                found = plog.offset_for_timestamp(now_ms - duration)
            except (StorageError, OSError) as exc:
                log.warning("No offset for %s, starting at the latest: %s", setting, exc)
                return high
            return high if found is None else min(found[0], high)
    return high
