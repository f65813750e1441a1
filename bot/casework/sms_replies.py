"""A caseworker's SMS reply to an alert ("42 OK", "LØST 42"): act on the alert, answer clearly.

Who may act on an alert by SMS is decided by the same rule as the dashboard, the API and the
Telegram buttons (`bot.casework.access.can_act_on_alert`): the owner, the alert's team (colleagues
cover for each other), the municipality's intake team for alerts with no team, and the
municipality's admins - never anyone from another municipality. Anyone else is told the alert
belongs to another team; nothing changes.

A code is a number typed by hand, and "24 OK" for "42 OK" would silence a colleague's alert
that the replier never heard of (its escalation stops while nobody knows about it). So a code
also acts only on an alert the replier knows: they own it, were notified about it (any channel,
any escalation), or have acted on it before (acknowledged it, say, in the dashboard). Otherwise
they are told it is not one of their alerts; nothing changes.

One case per tenant: a case id lives for weeks, and a new cry reopens it (a new escalation,
`bot.alerts.told.escalation_epoch`) while last week's "42 LØST" is still on the phone. So a code
that would change the alert acts only when its sender was notified in, or acted in, the
current escalation. One who knew only an earlier one is answered that the case has news since,
with the news itself (the alert SMS's headline) and how to act: the same code again, or the
dashboard; nothing changes. The answer told them, so it goes on the timeline under their name
(``stale_code``) and their next code acts. A Telegram button carries its escalation
(`bot.casework.alert_buttons`). Answers are in the caseworker's language. Every action lands
on the alert's timeline via :func:`bot.alerts.act` (actor and ``via="sms"``) and in the audit
log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, exists, or_, select
from sqlalchemy.orm import Session

from bot.alerts import staff_texts as sms_staff_texts
from bot.alerts import texts as alert_texts
from bot.alerts.lifecycle import act
from bot.alerts.rules import InvalidTransition, transition
from bot.alerts.told import escalation_epoch
from bot.casework.queries import may_act_on_alert, viewer_for
from bot.casework.reply_codes import parse_reply_code
from bot.core import audit
from bot.core.config import Settings
from bot.models import Alert, AlertEvent, AlertState, Caseworker, utcnow

# Candidates looked at for the example in "not understood" (the newest; most have one or two).
EXAMPLE_CANDIDATES = 20


def may_act(caseworker: Caseworker, alert: Alert) -> bool:
    """The rule in the module docstring."""
    return may_act_on_alert(viewer_for(caseworker), alert)


def knows_of(session: Session, caseworker: Caseworker, alert: Alert) -> bool:
    """Whether the caseworker owns the alert, was notified about it, or acted on it before:
    the alerts a reply code of theirs may change."""
    if caseworker.id in (alert.owner_id, alert.acknowledged_by_id):
        return True
    return _told_or_acted(session, caseworker, alert, since=0)


def knows_current(session: Session, caseworker: Caseworker, alert: Alert, epoch: int) -> bool:
    """Whether the caseworker was notified in, or acted in, the alert's escalation ``epoch``
    (its current one): the escalation a code of theirs was typed for. The first escalation
    (0) is `knows_of`."""
    if epoch == 0:
        return knows_of(session, caseworker, alert)
    return _told_or_acted(session, caseworker, alert, since=epoch)


def _told_or_acted(session: Session, caseworker: Caseworker, alert: Alert, since: int) -> bool:
    return session.scalar(select(exists().where(
        AlertEvent.alert_id == alert.id, AlertEvent.id > since,
        or_(AlertEvent.actor == f"caseworker:{caseworker.id}",
            (AlertEvent.kind == "notified")
            & (AlertEvent.detail["caseworker_id"].as_integer() == caseworker.id))))) is True


def _changes(alert: Alert, action: str) -> bool:
    """Whether ``action`` would change the alert (else the usual answers say why not)."""
    try:
        return transition(alert.state, action) != alert.state
    except InvalidTransition:
        return False


def example_alert(session: Session, caseworker: Caseworker) -> Alert | None:
    """The alert a caseworker most likely means when a reply is not understood: one of theirs
    that is still active (they were told about it by SMS, or own it) and that they may act on;
    open before acknowledged, then the newest. None when there is none."""
    told_by_sms = exists().where(
        AlertEvent.alert_id == Alert.id, AlertEvent.kind == "notified",
        AlertEvent.detail["caseworker_id"].as_integer() == caseworker.id,
        AlertEvent.detail["channel"].as_string() == "sms")
    candidates = session.scalars(
        select(Alert).where(
            Alert.organisation_id == caseworker.team.organisation_id,
            Alert.state.in_([AlertState.OPEN, AlertState.ACKNOWLEDGED]),
            or_(Alert.owner_id == caseworker.id, told_by_sms))
        .order_by(case((Alert.state == AlertState.OPEN, 0), else_=1), Alert.id.desc())
        .limit(EXAMPLE_CANDIDATES))
    return next((alert for alert in candidates if may_act(caseworker, alert)), None)


def handle_caseworker_sms(session: Session, caseworker: Caseworker, body: str | None, *,
                          now: datetime | None = None, settings: Settings | None = None) -> str:
    """Apply a reply code from ``caseworker``; returns the answer to text back. ``settings``:
    how much an alert SMS may say, and the dashboard's address (None: the defaults)."""
    now = now or utcnow()
    lang = caseworker.language
    code = parse_reply_code(body or "")
    if code is None:
        example = example_alert(session, caseworker)
        if example is None:
            return sms_staff_texts.unknown_code(lang)
        return sms_staff_texts.unknown_code(lang, example.id,
                                            acknowledged=example.state == AlertState.ACKNOWLEDGED)
    alert = session.get(Alert, code.alert_id)
    if alert is None or alert.organisation_id != caseworker.team.organisation_id:
        # Another municipality's alert does not exist as far as this caseworker can tell.
        return sms_staff_texts.not_found(lang, code.alert_id)
    if not may_act(caseworker, alert):
        audit.record(session, f"caseworker:{caseworker.id}", "refused", "alert", alert.id,
                     via="sms", wanted=code.action)
        return sms_staff_texts.not_yours(lang, alert.id)
    if not knows_of(session, caseworker, alert):
        audit.record(session, f"caseworker:{caseworker.id}", "refused", "alert", alert.id,
                     via="sms", wanted=code.action, reason="not_told")
        return sms_staff_texts.not_told(lang, alert.id)
    epoch = escalation_epoch(session, alert)[1]
    if _changes(alert, code.action) and not knows_current(session, caseworker, alert, epoch):
        session.add(AlertEvent(alert=alert, at=now, kind="stale_code",
                               actor=f"caseworker:{caseworker.id}",
                               detail={"via": "sms", "wanted": code.action}))
        audit.record(session, f"caseworker:{caseworker.id}", "refused", "alert", alert.id,
                     via="sms", wanted=code.action, reason="stale")
        settings = settings or Settings()
        base = settings.public_base_url
        return sms_staff_texts.stale(
            lang, alert.id, code.action,
            alert_texts.headline(alert, lang, settings.alert_sms_detail),
            alert_texts.alert_url(base, alert.id) if base else None)
    before = alert.state
    try:
        changed = act(session, alert, code.action, actor=caseworker, via="sms", now=now)
    except InvalidTransition:
        # The only refusal reachable by SMS: acknowledging an alert that is already closed.
        return sms_staff_texts.already_closed(lang, alert.id)
    if not changed:
        if before == AlertState.RESOLVED:
            return sms_staff_texts.already_closed(lang, alert.id)
        by = session.get(Caseworker, alert.acknowledged_by_id) if alert.acknowledged_by_id \
            else None
        return sms_staff_texts.already_acknowledged(lang, alert.id, by.name if by else "-")
    audit.record(session, f"caseworker:{caseworker.id}", code.action, "alert", alert.id,
                 via="sms")
    if code.action == "resolve":
        return sms_staff_texts.resolved(lang, alert.id)
    return sms_staff_texts.acknowledged(lang, alert.id)
