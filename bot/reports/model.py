"""The report's shape: which figures, how each column adds up, and suppression for sharing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.landlords.texts import CATEGORY_LABELS, URGENCY_LABELS
from bot.models.enums import Severity, Source

TOTAL = "total"
SMALL = 5  # counts 1..SMALL-1 are shown as "<5" in shared copies
STEP_BUCKETS = ("0", "1", "2", "3+")


class Kind(StrEnum):
    COUNT = "count"
    RATE = "rate"  # 0..1, shown as a percentage
    MINUTES = "minutes"  # a median or p90 duration


@dataclass(frozen=True)
class Metric:
    key: str
    section: str
    kind: Kind = Kind.COUNT


def _metrics() -> tuple[Metric, ...]:
    out = [Metric(f"tenants.{k}", "tenants")
           for k in ("enrolled", "active", "paused", "opted_out", "moved_out")]
    out += [Metric(f"checkins.{k}", "checkins") for k in ("sent", "answered")]
    out.append(Metric("checkins.response_rate", "checkins", Kind.RATE))
    out += [Metric(f"checkins.{k}", "checkins") for k in ("answer_1", "answer_2", "answer_3",
                                                           "missed")]
    out.append(Metric("alerts.total", "alerts"))
    out += [Metric(f"alerts.source.{s.value}", "alerts") for s in Source]
    out += [Metric(f"alerts.severity.{s.value}", "alerts") for s in Severity]
    out += [Metric(f"alerts.{k}", "alerts", Kind.MINUTES)
            for k in ("ack_median", "ack_p90", "resolve_median", "resolve_p90")]
    out += [Metric(f"alerts.step.{b}", "alerts") for b in STEP_BUCKETS]
    out.append(Metric("concerns.total", "concerns"))
    out += [Metric(f"concerns.category.{c}", "concerns") for c in CATEGORY_LABELS]
    out += [Metric(f"concerns.urgency.{u}", "concerns") for u in URGENCY_LABELS]
    out += [Metric(f"concerns.{k}", "concerns", Kind.MINUTES)
            for k in ("resolve_median", "resolve_p90")]
    out.append(Metric("delivery.undelivered", "delivery"))
    return tuple(out)


METRICS = _metrics()
METRIC_KIND = {m.key: m.kind for m in METRICS}
SECTIONS = ("tenants", "checkins", "alerts", "concerns", "delivery")


@dataclass(frozen=True)
class Cell:
    """One figure and the number of cases it rests on (a rate's denominator, a median's n)."""

    value: float | None
    base: int

    def shown(self, shareable: bool) -> str | float | int | None:
        """The value as exported: None (no data), "<5" when too few to share, else a number."""
        if shareable and 0 < self.base < SMALL:
            return f"<{SMALL}"
        if self.value is None:
            return None
        if isinstance(self.value, float):
            return round(self.value, 3 if self.value < 1 else 1)
        return self.value


@dataclass
class ScopeFigures:
    name: str  # the municipality's or team's name
    kind: str  # municipality, team
    # column (a month label or TOTAL) -> metric key -> cell
    columns: dict[str, dict[str, Cell]] = field(default_factory=dict)

    def cell(self, column: str, metric: str) -> Cell:
        return self.columns.get(column, {}).get(metric, Cell(0 if METRIC_KIND.get(
            metric, Kind.COUNT) == Kind.COUNT else None, 0))


@dataclass
class Report:
    organisation: str
    first: date
    last: date
    months: list[str]
    scopes: list[ScopeFigures]
    generated_at: datetime  # UTC
    shareable: bool = False
    tz_name: str = "Europe/Copenhagen"  # the municipality's: "made at" is shown in its time

    @property
    def generated_local(self) -> datetime:
        return self.generated_at.astimezone(ZoneInfo(self.tz_name))

    @property
    def columns(self) -> list[str]:
        return [*self.months, TOTAL]
