"""What an alert is: its severity, when a new trigger folds into it, its allowed transitions.

Pure domain code: no Flask, no database, no provider SDKs. Who is told when lives in
:mod:`bot.alerts.timetable`; :mod:`bot.alerts.lifecycle` applies these rules to the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from bot.core.checkin_rules import miss_severity
from bot.models.enums import (
    Action,
    AlertState,
    LandlordCategory,
    LandlordUrgency,
    Severity,
    Source,
)

__all__ = [
    "CRIES",
    "InvalidTransition",
    "Join",
    "fold_key",
    "join_trigger",
    "severity_for",
    "should_fold",
    "transition",
]


# --------------------------------------------------------------------------- folding


def fold_key(tenant_id: int | str, source: Source | str) -> str:
    """Key under which repeated triggers for one tenant and cause fold into one open alert.

    The database folds on (tenant_id, source, state) with the same meaning; this string form
    is for in-memory de-duplication and logs. Source values contain no ":", so the key
    splits unambiguously at its last ":".
    """
    try:
        src = Source(source)
    except ValueError:
        raise ValueError(f"unknown alert source {source!r}") from None
    tenant = str(tenant_id).strip()
    if not tenant:
        raise ValueError("fold_key needs a tenant id")
    return f"{tenant}:{src.value}"


def should_fold(
    existing_state: AlertState | str,
    *,
    existing_severity: Severity | str | None = None,
    incoming_severity: Severity | str | None = None,
) -> bool:
    """Whether a new trigger with the same fold key joins the existing alert.

    Open and acknowledged alerts absorb repeats (the caseworker is already on it, and a
    second alert would re-run the escalation). Resolved alerts do not: the problem is new.
    If both severities are given, a *more* severe trigger never folds into a milder alert
    (e.g. a second missed check-in, high, onto the first, low): folding would keep the slow
    working-hours schedule for an alert that now needs the fast one.
    """
    state = AlertState(existing_state)
    if state is AlertState.RESOLVED:
        return False
    if existing_severity is not None and incoming_severity is not None:
        return Severity(incoming_severity).rank <= Severity(existing_severity).rank
    return True


class Join(StrEnum):
    """What a new trigger does to a tenant's open or acknowledged alert (one case per tenant)."""

    FOLD = "folded"  # joins the timeline; escalation goes on as it was
    RETRIGGER = "retriggered"  # joins, and escalation starts again from the first step


# A cry for a person: never silently folded into a case that nobody is escalating any more.
CRIES = frozenset({Source.NEED_HELP, Source.CRISIS, Source.VIOLENCE, Source.CALL_ME})


def join_trigger(existing_state: AlertState | str, existing_severity: Severity | str,
                 incoming_source: Source | str, incoming_severity: Severity | str, *,
                 escalating: bool = True) -> Join:
    """How a trigger joins the tenant's active alert (any source: one case per tenant).

    Severity only rises: a more severe trigger upgrades the alert and restarts its escalation
    at the higher policy. A cry (need-help, crisis, violence, a call request) restarts it too
    when the case is acknowledged or its escalation has ended (``escalating`` False: the policy
    ran out, nobody acted, or it reached nobody and waits for its next retry): its old
    notifications were about earlier triggers, so the owner is told again at once. Everything
    else folds.
    """
    state = AlertState(existing_state)
    if state is AlertState.RESOLVED:
        raise ValueError("a resolved alert takes no new triggers: raise a new one")
    if Severity(incoming_severity).rank > Severity(existing_severity).rank:
        return Join.RETRIGGER
    dormant = state is AlertState.ACKNOWLEDGED or not escalating
    if dormant and Source(incoming_source) in CRIES:
        return Join.RETRIGGER
    return Join.FOLD


# --------------------------------------------------------------------------- state machine


class InvalidTransition(ValueError):
    """An action that makes no sense in the alert's current state."""

    def __init__(self, state: AlertState, action: Action, reason: str) -> None:
        self.state = state
        self.action = action
        super().__init__(f"cannot {action.value} an alert that is {state.value}: {reason}")


# Each action is a no-op when the alert is already where the action leads, so two
# caseworkers replying "42 OK" (or "42 LØST") at the same time both succeed.
_TRANSITIONS: dict[tuple[AlertState, Action], AlertState] = {
    (AlertState.OPEN, Action.ACKNOWLEDGE): AlertState.ACKNOWLEDGED,
    (AlertState.OPEN, Action.RESOLVE): AlertState.RESOLVED,  # resolving implies acknowledging
    (AlertState.OPEN, Action.REOPEN): AlertState.OPEN,
    (AlertState.ACKNOWLEDGED, Action.ACKNOWLEDGE): AlertState.ACKNOWLEDGED,
    (AlertState.ACKNOWLEDGED, Action.RESOLVE): AlertState.RESOLVED,
    (AlertState.RESOLVED, Action.RESOLVE): AlertState.RESOLVED,
    (AlertState.RESOLVED, Action.REOPEN): AlertState.OPEN,
}

_REFUSALS: dict[tuple[AlertState, Action], str] = {
    (AlertState.ACKNOWLEDGED, Action.REOPEN): (
        "it is still open and being handled; only a resolved alert can be reopened"
    ),
    (AlertState.RESOLVED, Action.ACKNOWLEDGE): (
        "it is already closed; reopen it first if the problem is back"
    ),
}


def transition(state: AlertState | str, action: Action | str) -> AlertState:
    """The alert's state after ``action``; raises :class:`InvalidTransition` if not allowed.

    Unknown state or action strings raise plain ``ValueError``.
    """
    current = AlertState(state)
    act = Action(action)
    try:
        return _TRANSITIONS[(current, act)]
    except KeyError:
        raise InvalidTransition(current, act, _REFUSALS[(current, act)]) from None


# --------------------------------------------------------------------------- severity


def _text(detail: Mapping[str, object], key: str) -> str:
    value = detail.get(key)
    return "" if value is None else str(value).strip().lower()


def severity_for(source: Source | str, detail: Mapping[str, object] | None = None) -> Severity:
    """How severe an alert from ``source`` is.

    ======================  ==========================================================
    crisis                  critical
    violence                high: violence in a close relationship; threats to life are
                            crisis words and so critical
    need_help               high (check-in answer 3, or "hjælp")
    call_me                 high: the tenant reached out and asked for a person; a call
                            that waits for office hours is a call that did not happen
    missed                  ``detail["missed"]`` consecutive misses, through
                            :func:`bot.core.checkin_rules.miss_severity` (the default of
                            ``MISSED_ALERT_THRESHOLDS``; the miss sweep passes the configured
                            severity itself)
    concern (landlord)      category no_sign_of_life -> critical, whatever the urgency;
                            wellbeing + urgent_today -> critical; otherwise urgent_today
                            -> high, this_week -> low, can_wait -> low. this_week is low
                            because the landlord says it can wait until a working day;
                            an unknown or missing urgency is treated as high (fail safe:
                            the form value is user input)
    delivery_failed         low: we cannot reach the tenant's number, a working-hours task
    message                 low: the tenant wrote words for the caseworker; anything urgent
                            in them is caught as crisis words, answer 3 or a call request
    ======================  ==========================================================

    Unknown sources and a missing or invalid miss count raise ``ValueError`` (caller bugs).
    """
    try:
        src = Source(source)
    except ValueError:
        raise ValueError(f"unknown alert source {source!r}") from None
    detail = detail or {}
    if src is Source.CRISIS:
        return Severity.CRITICAL
    if src in (Source.NEED_HELP, Source.CALL_ME, Source.VIOLENCE):
        return Severity.HIGH
    if src in (Source.DELIVERY_FAILED, Source.MESSAGE):
        return Severity.LOW
    if src is Source.MISSED:
        missed = detail.get("missed")
        if not isinstance(missed, int) or isinstance(missed, bool) or missed < 1:
            raise ValueError(f"missed check-in alert needs detail['missed'] >= 1, got {missed!r}")
        return miss_severity(missed) or Severity.LOW
    # Source.CONCERN
    category = _text(detail, "category")
    urgency = _text(detail, "urgency")
    if category == LandlordCategory.NO_SIGN_OF_LIFE:
        return Severity.CRITICAL
    if urgency == LandlordUrgency.URGENT_TODAY:
        return Severity.CRITICAL if category == LandlordCategory.WELLBEING else Severity.HIGH
    if urgency in (LandlordUrgency.CAN_WAIT, LandlordUrgency.THIS_WEEK):
        return Severity.LOW
    return Severity.HIGH
