"""A caseworker's Telegram button or SMS reply code acts only on the escalation its message was
about. One case per tenant: a case id lives for weeks, and a new cry reopens the same id, so
last week's "Resolved" button (or "42 LØST") must not close a crisis that came minutes ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import staff_texts as sms_staff_texts
from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.alerts.told import escalation_epoch
from bot.casework.alert_buttons import ButtonOutcome, ButtonResult, press
from bot.casework.sms_replies import handle_caseworker_sms
from bot.core.config import Settings
from bot.models import Alert, AlertEvent, AuditEvent, Caseworker, OutboxItem, Tenant
from bot.tenants.conversation import handle_tenant_sms
from tests.support.factories import World
from tests.support.sms import PUBLIC_BASE_URL, SMS_PATH, inbound_form, post_signed, twiml_messages
from webhooks.dashboard.timeline import describe

CHAT = 777001  # the owner's Telegram chat
T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=7)


def _telegram_rows(session: Session, alert_id: int) -> list[OutboxItem]:
    session.expire_all()
    return list(session.scalars(select(OutboxItem).where(
        OutboxItem.channel == "telegram",
        OutboxItem.idempotency_key.like(f"alert:{alert_id}:%")).order_by(OutboxItem.id)))


def _data(row: OutboxItem) -> dict[str, str]:
    """The callback data of the message's buttons, by action ("ack", "resolve")."""
    return {b["data"].rsplit(":", 1)[1]: b["data"] for r in row.payload["buttons"] for b in r}


def _sent(session: Session, row: OutboxItem, message_id: int) -> None:
    """As the dispatcher records a message Telegram took: its provider id names the message."""
    row.status, row.provider_id = "sent", f"{CHAT}:{message_id}"
    session.commit()


def _press(sessions: sessionmaker[Session], data: str,
           message_id: int | None = None) -> ButtonResult:
    with sessions() as s, s.begin():
        return press(s, CHAT, data, message_id=message_id)


def _sms(sessions: sessionmaker[Session], person: Caseworker, body: str,
         settings: Settings | None, now: datetime) -> str:
    with sessions() as s, s.begin():
        return handle_caseworker_sms(s, s.get(Caseworker, person.id),  # type: ignore[arg-type]
                                     body, now=now, settings=settings)


def _told_on_telegram(sessions: sessionmaker[Session], session: Session, settings: Settings,
                      world: World) -> int:
    """A tenant asked for help at T0 and the owner, linked on Telegram, was told (its first
    step). Returns the alert's id."""
    world.caseworker.telegram_chat_id = CHAT
    session.commit()
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="need_help", summary="3", now=T0,
                               tenant=s.get(Tenant, world.tenant.id))
        alert_id = alert.id
    run_escalation(sessions, settings, now=T0)
    return alert_id

@pytest.fixture
def acknowledged(sessions: sessionmaker[Session], session: Session, settings: Settings,
                 world: World) -> int:
    """A tenant asked for help a week ago: the owner (SMS and Telegram) and at 30 min the team
    were told, and the owner acknowledged it with the message's button. Returns its id."""
    alert_id = _told_on_telegram(sessions, session, settings, world)
    run_escalation(sessions, settings, now=T0 + timedelta(minutes=30))  # the team step
    first = _telegram_rows(session, alert_id)[0]  # the owner's step-0 message
    _sent(session, first, 901)
    assert _press(sessions, _data(first)["ack"], 901).outcome == ButtonOutcome.DONE
    return alert_id


def _crisis_a_week_later(sessions: sessionmaker[Session], w: World, alert_id: int) -> int:
    """The r6 scenario: crisis words reopen the same case and tell the owner at once (a new
    escalation). Returns the new escalation's epoch."""
    with sessions() as s, s.begin():
        out = handle_tenant_sms(s, s.get(Tenant, w.tenant.id),  # type: ignore[arg-type]
                                "jeg vil ikke leve mere", now=LATER)
        assert out.alert is not None and out.alert.id == alert_id and out.told
        epoch = escalation_epoch(s, out.alert)[1]
    assert epoch > 0
    return epoch


def _refusals(session: Session) -> list[tuple[str, str | None, str | None]]:
    session.expire_all()
    return [(e.detail.get("via"), e.detail.get("wanted"), e.detail.get("reason"))
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "refused")
                                     .order_by(AuditEvent.id))]


# -- Telegram buttons ---------------------------------------------------------------------------


def test_last_weeks_resolve_button_leaves_the_crisis_that_reopened_the_case_open(
        sessions: sessionmaker[Session], session: Session, world: World,
        acknowledged: int) -> None:
    alert_id = acknowledged
    old = _telegram_rows(session, alert_id)[0]
    _crisis_a_week_later(sessions, world, alert_id)
    # The old message's Resolve (its epoch is the first escalation's), the same button as
    # sent before buttons carried an epoch (by its message, and with the message unknown).
    for data, message_id in ((_data(old)["resolve"], 901), (f"alert:{alert_id}:resolve", 901),
                             (f"alert:{alert_id}:resolve", None), (_data(old)["ack"], 901)):
        result = _press(sessions, data, message_id)
        assert (result.outcome, result.alert_id) == (ButtonOutcome.STALE, alert_id), data
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None
    assert (alert.state, alert.severity, alert.acknowledged_at) == ("open", "critical", None)
    assert alert.next_action_at is not None  # still escalating
    assert _refusals(session) == [("telegram", "resolve", "stale")] * 3 + [
        ("telegram", "ack", "stale")]
    kinds = session.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id))
    assert "resolved" not in list(kinds)


def test_the_current_escalations_button_acts(sessions: sessionmaker[Session],
                                             session: Session, world: World,
                                             acknowledged: int) -> None:
    alert_id = acknowledged
    epoch = _crisis_a_week_later(sessions, world, alert_id)
    rows = _telegram_rows(session, alert_id)
    old, new = rows[0], rows[-1]
    assert _data(new) == {"ack": f"alert:{alert_id}:e{epoch}:ack",
                          "resolve": f"alert:{alert_id}:e{epoch}:resolve"}
    assert _data(old) == {"ack": f"alert:{alert_id}:e0:ack",
                          "resolve": f"alert:{alert_id}:e0:resolve"}
    assert max(len(d.encode()) for d in _data(new).values()) <= 64  # Telegram's limit
    result = _press(sessions, _data(new)["resolve"])
    assert (result.outcome, result.alert_id) == (ButtonOutcome.DONE, alert_id)
    session.expire_all()
    assert session.get(Alert, alert_id).state == "resolved"  # type: ignore[union-attr]


def test_an_old_button_without_epoch_acts_while_its_escalation_is_the_cases(
        sessions: sessionmaker[Session], session: Session, settings: Settings,
        world: World) -> None:
    """Buttons already out in the field (``alert:<id>:ack``) keep working on a case with no new
    escalation since their message; after one, only the message sent in it (its outbox row)."""
    alert_id = _told_on_telegram(sessions, session, settings, world)
    assert _press(sessions, f"alert:{alert_id}:ack").outcome == ButtonOutcome.DONE
    _crisis_a_week_later(sessions, world, alert_id)
    old, new = _telegram_rows(session, alert_id)
    _sent(session, old, 901)
    _sent(session, new, 902)
    for message_id in (901, 903, None):  # last week's message, one we never sent, unknown
        assert _press(sessions, f"alert:{alert_id}:ack", message_id).outcome == \
            ButtonOutcome.STALE
    assert _press(sessions, f"alert:{alert_id}:ack", 902).outcome == ButtonOutcome.DONE
    assert _press(sessions, f"alert:{alert_id}:resolve", 902).outcome == ButtonOutcome.DONE


# -- SMS reply codes ----------------------------------------------------------------------------


def _stale_reply(alert_id: int, url: str | None, action: str = "LØST") -> str:
    how = (f"Svar {alert_id} LØST igen, hvis den også er klaret nu." if action == "LØST"
           else f"Svar {alert_id} OK igen for at kvittere for den, som den er nu.")
    where = f"Eller åbn den: {url}" if url else "Eller åbn den i oversigten."
    return (f"Intet er ændret: alarm {alert_id} har fået nyt, siden du fik besked. "
            f"Trygt Hjem #{alert_id} KRITISK: Anna (Vollsmose) har brug for kontakt nu. "
            f"{how} {where}")


def test_a_code_from_an_earlier_escalation_gets_the_news_and_changes_nothing(
        sessions: sessionmaker[Session], session: Session, settings: Settings, world: World,
        acknowledged: int) -> None:
    """The colleague was told by the team step last week; the new crisis has so far told only
    the owner. Their "LØST" was typed for last week's message: they get the news and how to
    act, and nothing changes; the same code again, now that they know, closes it."""
    alert_id = acknowledged
    _crisis_a_week_later(sessions, world, alert_id)
    url = f"{PUBLIC_BASE_URL}/dashboard/alerts/{alert_id}"
    at = LATER + timedelta(minutes=2)
    assert _sms(sessions, world.colleague, f"{alert_id} LØST", settings, at) == \
        _stale_reply(alert_id, url)
    assert _sms(sessions, world.lead, f"{alert_id} ok", None, at) == \
        _stale_reply(alert_id, None, "OK")  # no dashboard address configured
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and (alert.state, alert.acknowledged_at) == ("open", None)
    assert _refusals(session) == [("sms", "resolve", "stale"), ("sms", "acknowledge", "stale")]
    stale = session.scalars(select(AlertEvent).where(AlertEvent.kind == "stale_code")
                            .order_by(AlertEvent.id)).all()
    assert [(e.actor, e.detail) for e in stale] == [
        (f"caseworker:{world.colleague.id}", {"via": "sms", "wanted": "resolve"}),
        (f"caseworker:{world.lead.id}", {"via": "sms", "wanted": "acknowledge"})]
    assert describe("stale_code", stale[0].detail, {}, "da") == (
        "Løst via SMS blev ikke udført: koden var til en tidligere besked. Svaret fortalte det "
        "nye; samme kode igen virker.")
    # The answer told them the news: the same code again acts.
    assert _sms(sessions, world.colleague, f"{alert_id} LØST", settings, at) == \
        sms_staff_texts.resolved("da", alert_id)
    session.expire_all()
    assert session.get(Alert, alert_id).state == "resolved"  # type: ignore[union-attr]


def test_the_current_escalations_code_acts(sessions: sessionmaker[Session], session: Session,
                                           settings: Settings, world: World,
                                           acknowledged: int) -> None:
    """The owner was told of the crisis (its first step): their code is for it."""
    alert_id = acknowledged
    _crisis_a_week_later(sessions, world, alert_id)
    assert _sms(sessions, world.caseworker, f"{alert_id} OK", settings, LATER) == \
        sms_staff_texts.acknowledged("da", alert_id)
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.state == "acknowledged"
    assert alert.acknowledged_by_id == world.caseworker.id
    assert _refusals(session) == []


def test_a_code_that_would_change_nothing_gets_the_usual_answer(
        sessions: sessionmaker[Session], session: Session, settings: Settings, world: World,
        acknowledged: int) -> None:
    """Closed since by someone who knew: "already closed", no invitation to send it again."""
    alert_id = acknowledged
    _crisis_a_week_later(sessions, world, alert_id)
    assert _sms(sessions, world.caseworker, f"{alert_id} LØST", settings, LATER) == \
        sms_staff_texts.resolved("da", alert_id)
    assert _sms(sessions, world.colleague, f"{alert_id} LØST", settings, LATER) == \
        sms_staff_texts.already_closed("da", alert_id)
    assert _refusals(session) == []


def test_a_stale_code_over_the_webhook_links_the_dashboard(
        sms_client: FlaskClient, sessions: sessionmaker[Session], session: Session,
        world: World, acknowledged: int) -> None:
    """The inbound SMS webhook hands its settings on: the answer has the dashboard's address."""
    alert_id = acknowledged
    _crisis_a_week_later(sessions, world, alert_id)
    reply = twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
        world.colleague.phone, f"{alert_id} løst")))
    assert reply == [_stale_reply(alert_id, f"{PUBLIC_BASE_URL}/dashboard/alerts/{alert_id}")]
    session.expire_all()
    assert session.get(Alert, alert_id).state == "open"  # type: ignore[union-attr]
