"""When an unanswered check-in gets its reminder or counts as missed, and how severe a run of
misses is. Pure: callers pass ``now`` and the organisation's or deployment's settings.

``MISSED_ALERT_THRESHOLDS`` (read by :mod:`bot.core.config`) feeds :func:`miss_severity`; it is
the only place that turns a miss count into a severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from bot.core.timing import require_aware
from bot.models.enums import Severity

__all__ = [
    "DEFAULT_MISS_THRESHOLDS",
    "DEFAULT_POLICY",
    "CheckinAction",
    "CheckinPolicy",
    "checkin_action",
    "miss_severity",
]

CheckinAction = Literal["none", "remind", "miss"]



@dataclass(frozen=True)
class CheckinPolicy:
    """Timing of the single reminder and of the "missed" verdict, both from first send."""

    reminder_after: timedelta = timedelta(hours=24)
    missed_after: timedelta = timedelta(hours=48)

    def __post_init__(self) -> None:
        if self.reminder_after <= timedelta(0):
            raise ValueError("reminder_after must be positive")
        if self.missed_after <= self.reminder_after:
            # Otherwise the reminder could never be sent before the miss.
            raise ValueError("missed_after must be longer than reminder_after")


DEFAULT_POLICY = CheckinPolicy()


def checkin_action(
    sent_at: datetime,
    reminded_at: datetime | None,
    answered_at: datetime | None,
    now: datetime,
    policy: CheckinPolicy = DEFAULT_POLICY,
) -> CheckinAction:
    """What to do with an open check-in at ``now``.

    * answered (at any time)                    -> ``"none"``
    * ``now - sent_at >= missed_after``         -> ``"miss"`` (even if never reminded:
      grace counts from the first send, so downtime does not extend it)
    * not yet reminded and ``>= reminder_after`` -> ``"remind"`` (only ever once)
    * otherwise                                 -> ``"none"``

    Pure: the caller records the reminder/miss and closes the check-in after a miss.
    """
    require_aware("sent_at", sent_at)
    require_aware("now", now)
    for name, value in (("reminded_at", reminded_at), ("answered_at", answered_at)):
        if value is not None:
            require_aware(name, value)
    if answered_at is not None:
        return "none"
    elapsed = now - sent_at
    if elapsed >= policy.missed_after:
        return "miss"
    if reminded_at is None and elapsed >= policy.reminder_after:
        return "remind"
    return "none"


# The default of MISSED_ALERT_THRESHOLDS: one miss is low, two in a row high.
DEFAULT_MISS_THRESHOLDS: Mapping[int, Severity] = MappingProxyType(
    {1: Severity.LOW, 2: Severity.HIGH})


def miss_severity(
    consecutive_misses: int, thresholds: Mapping[int, Severity | str] = DEFAULT_MISS_THRESHOLDS
) -> Severity | None:
    """Alert severity for a run of consecutive missed check-ins.

    ``thresholds`` maps "at least N misses" to a severity; the highest threshold
    reached wins, so counts beyond the top keep the top severity. Below the lowest
    threshold (including 0) there is no alert: ``None``.
    """
    if consecutive_misses < 0:
        raise ValueError(f"consecutive_misses must be >= 0, got {consecutive_misses}")
    if any(n < 1 for n in thresholds):
        raise ValueError(f"Miss thresholds must be >= 1, got {sorted(thresholds)}")
    reached = [n for n in thresholds if n <= consecutive_misses]
    return Severity(thresholds[max(reached)]) if reached else None
