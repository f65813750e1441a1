"""Landlord bot domain (no Telegram): invites, caseworker links, concerns, status pushes,
caseworker alert buttons, and what a blocked bot (403) means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import act
from bot.casework.alert_buttons import ButtonOutcome, buttons, press
from bot.channels.base import PermanentError
from bot.core.tokens import hash_token
from bot.delivery import failures as delivery_failures
from bot.landlords.flow import (
    Draft,
    InvalidChoice,
    active_tenant,
    my_concerns,
    own_home,
    own_homes,
    set_language,
    submit_concern,
)
from bot.landlords.invites import (
    RedeemOutcome,
    caseworker_payload,
    create_caseworker_link,
    create_invite,
    deep_link,
    link_caseworker,
    redeem_invite,
)
from bot.models import (
    Alert,
    AuditEvent,
    Concern,
    Home,
    Landlord,
    LandlordInvite,
    OutboxItem,
    Team,
)
from tests.support.factories import World, make_world

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
# Real Telegram ids need 64 bits (checked on PostgreSQL, where INTEGER is 32-bit).
BIG_USER = 7_123_456_789
GROUP_CHAT = -1_001_234_567_890


def _draft(home: Home, **overrides: object) -> Draft:
    values: dict[str, object] = {"home_id": home.id, "category": "noise",
                                 "urgency": "this_week", "description": "Høj musik om natten"}
    values.update(overrides)
    return Draft(**values)  # type: ignore[arg-type]


# -- invites


def test_invite_stores_only_the_hash_and_links_once(session: Session) -> None:
    w = make_world(session)
    token = create_invite(session, w.landlord, now=NOW)
    session.commit()
    invite = session.scalar(select(LandlordInvite))
    assert invite is not None and invite.token_hash == hash_token(token)
    assert token not in invite.token_hash and invite.expires_at == NOW + timedelta(days=7)

    result = redeem_invite(session, token, user_id=BIG_USER, chat_id=BIG_USER,
                           now=NOW + timedelta(hours=1))
    session.commit()
    assert result.outcome == RedeemOutcome.LINKED and result.landlord is not None
    session.refresh(w.landlord)
    assert (w.landlord.telegram_user_id, w.landlord.telegram_chat_id) == (BIG_USER, BIG_USER)
    # The same person tapping the link again is fine; anyone else is told it was used.
    again = redeem_invite(session, token, user_id=BIG_USER, chat_id=BIG_USER)
    assert again.outcome == RedeemOutcome.LINKED
    assert redeem_invite(session, token, user_id=777, chat_id=777).outcome == RedeemOutcome.USED


def test_expired_and_unknown_invites(session: Session) -> None:
    w = make_world(session)
    token = create_invite(session, w.landlord, now=NOW, ttl=timedelta(hours=1))
    session.commit()
    late = redeem_invite(session, token, user_id=1, chat_id=1, now=NOW + timedelta(hours=2))
    assert late.outcome == RedeemOutcome.EXPIRED
    assert redeem_invite(session, "nope", user_id=1, chat_id=1).outcome == RedeemOutcome.UNKNOWN
    session.refresh(w.landlord)
    assert w.landlord.telegram_user_id is None


def test_a_telegram_account_moves_to_the_new_landlord(session: Session) -> None:
    w = make_world(session)
    first = create_invite(session, w.landlord, now=NOW)
    second = create_invite(session, w.other_landlord, now=NOW)
    redeem_invite(session, first, user_id=42, chat_id=42, now=NOW)
    redeem_invite(session, second, user_id=42, chat_id=42, now=NOW)
    session.commit()
    session.refresh(w.landlord)
    assert w.landlord.telegram_user_id is None and w.other_landlord.telegram_user_id == 42


def test_deep_link() -> None:
    assert deep_link("@TrygtHjemBot", "abc_-1") == "https://t.me/TrygtHjemBot?start=abc_-1"
    with pytest.raises(ValueError):
        deep_link("Bot", "x" * 65)


def test_caseworker_link_code_is_one_time(session: Session) -> None:
    w = make_world(session)
    token = create_caseworker_link(session, w.caseworker)
    session.commit()
    assert w.caseworker.telegram_link_code_hash == hash_token(token)
    assert link_caseworker(session, "cw-wrong", GROUP_CHAT) is None
    linked = link_caseworker(session, caseworker_payload(token), GROUP_CHAT)
    session.commit()
    assert linked is not None and linked.id == w.caseworker.id
    assert linked.telegram_chat_id == GROUP_CHAT and linked.telegram_link_code_hash is None
    assert link_caseworker(session, caseworker_payload(token), GROUP_CHAT) is None


# -- the concern


def test_own_homes_and_forged_home_is_refused(session: Session) -> None:
    w = make_world(session)
    assert [h.reference for h in own_homes(session, w.landlord)] == ["FB-1001"]
    assert own_home(session, w.landlord, str(w.home.id)).id == w.home.id
    for forged in (w.other_home.id, "999999", "1; DROP TABLE homes", None):
        with pytest.raises(InvalidChoice):
            own_home(session, w.landlord, forged)
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "concern.forged_home")) == 2  # the two that name a home


def test_submit_creates_reference_and_alert_for_the_tenant(session: Session) -> None:
    w = make_world(session)
    concern = submit_concern(session, w.landlord,
                             _draft(w.home, category="wellbeing", urgency="urgent_today",
                                    photo_file_id="AgAD-photo"), now=NOW)
    session.commit()
    assert concern.reference == f"TH-2026-{concern.id:04d}"
    assert concern.status == "received" and concern.photo_file_id == "AgAD-photo"
    alert = session.scalar(select(Alert).where(Alert.concern_id == concern.id))
    assert alert is not None and alert.source == "concern" and alert.severity == "critical"
    assert alert.tenant_id == w.tenant.id and alert.team_id == w.team.id
    # The summary names the cause, never the landlord's free text.
    assert "musik" not in alert.summary and concern.reference in alert.summary


@pytest.mark.parametrize("bad", [
    {"category": "gossip"}, {"urgency": "yesterday"}, {"description": "  "},
    {"description": "x" * 1001}, {"home_id": None},
])
def test_submit_validates_the_whole_draft_again(session: Session, bad: dict) -> None:
    w = make_world(session)
    with pytest.raises(InvalidChoice):
        submit_concern(session, w.landlord, _draft(w.home, **bad), now=NOW)


def test_submit_for_another_landlords_home_is_refused(session: Session) -> None:
    w = make_world(session)
    with pytest.raises(InvalidChoice):
        submit_concern(session, w.landlord, _draft(w.other_home), now=NOW)
    assert session.scalar(select(func.count()).select_from(Concern)) == 0


def test_concern_for_an_empty_home_has_no_tenant(session: Session) -> None:
    w = make_world(session)
    w.tenant.active = False
    session.commit()
    assert active_tenant(session, w.home) is None
    concern = submit_concern(session, w.landlord, _draft(w.home), now=NOW)
    alert = session.scalar(select(Alert).where(Alert.concern_id == concern.id))
    assert alert is not None and alert.tenant_id is None and alert.home_id == w.home.id


def test_mine_lists_own_open_and_recent_only(session: Session) -> None:
    w = make_world(session)
    mine_old = submit_concern(session, w.landlord, _draft(w.home), now=NOW - timedelta(days=60))
    mine_new = submit_concern(session, w.landlord, _draft(w.home), now=NOW)
    submit_concern(session, w.other_landlord, _draft(w.other_home), now=NOW)
    mine_old.status = "resolved"
    mine_old.updated_at = NOW - timedelta(days=45)
    session.commit()
    assert [c.id for c in my_concerns(session, w.landlord, NOW)] == [mine_new.id]
    mine_old.status = "acknowledged"  # still open: listed however old
    session.commit()
    assert [c.id for c in my_concerns(session, w.landlord, NOW)] == [mine_new.id, mine_old.id]


def test_set_language(session: Session) -> None:
    w = make_world(session)
    w.landlord.telegram_user_id = 77
    session.commit()
    assert set_language(session, 77, 77, "en") and w.landlord.language == "en"
    assert not set_language(session, 78, 78, "en")
    with pytest.raises(InvalidChoice):
        set_language(session, 77, 77, "sv")


# -- status pushes to the landlord


def _linked(session: Session, w: World) -> Concern:
    w.landlord.telegram_user_id = w.landlord.telegram_chat_id = 4242
    session.commit()
    return submit_concern(session, w.landlord, _draft(w.home), now=NOW)


def test_acknowledge_and_resolve_push_status_to_the_landlord(session: Session) -> None:
    w = make_world(session)
    concern = _linked(session, w)
    alert = session.scalar(select(Alert).where(Alert.concern_id == concern.id))
    assert alert is not None
    act(session, alert, "acknowledge", actor=w.caseworker, via="dashboard", now=NOW)
    act(session, alert, "acknowledge", actor=w.colleague, via="sms", now=NOW)  # no-op
    session.commit()
    assert concern.status == "acknowledged"
    rows = list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))
    assert [(r.channel, r.recipient, r.kind) for r in rows] == [
        ("telegram", "4242", "concern_status")]
    assert concern.reference in rows[0].body and "Anna" not in rows[0].body
    act(session, alert, "resolve", actor=w.caseworker, via="dashboard", now=NOW)
    act(session, alert, "reopen", actor=w.caseworker, via="dashboard", now=NOW)
    assert concern.status == "received"
    act(session, alert, "resolve", actor=w.caseworker, via="dashboard", now=NOW)
    session.commit()
    assert concern.status == "resolved"
    assert session.scalar(select(func.count()).select_from(OutboxItem)) == 2  # once per status


def test_no_push_to_an_unlinked_or_blocked_landlord(session: Session) -> None:
    w = make_world(session)
    concern = submit_concern(session, w.landlord, _draft(w.home), now=NOW)
    alert = session.scalar(select(Alert).where(Alert.concern_id == concern.id))
    assert alert is not None
    act(session, alert, "acknowledge", actor=w.caseworker, via="dashboard")
    assert concern.status == "acknowledged"
    assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0


def test_other_alerts_are_untouched_by_the_hook(session: Session) -> None:
    from bot.alerts.lifecycle import raise_alert

    w = make_world(session)
    alert, _ = raise_alert(session, source="need_help", summary="3", tenant=w.tenant)
    assert act(session, alert, "acknowledge", actor=w.caseworker, via="dashboard")
    assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0


# -- caseworker buttons


def test_alert_buttons_payload_shape() -> None:
    assert buttons(42, 7, "Kvittér", "Løst") == [[
        {"text": "Kvittér", "data": "alert:42:e7:ack"},
        {"text": "Løst", "data": "alert:42:e7:resolve"}]]


def test_button_press_rules(session: Session) -> None:
    w = make_world(session)
    concern = submit_concern(session, w.landlord, _draft(w.home), now=NOW)
    alert = session.scalar(select(Alert).where(Alert.concern_id == concern.id))
    assert alert is not None
    w.caseworker.telegram_chat_id = 100
    other_team = Team(organisation=w.org, name="Other team")
    from bot.models import Caseworker

    stranger = Caseworker(team=other_team, email="x@y.example", name="X", telegram_chat_id=200)
    session.add_all([other_team, stranger])
    session.commit()
    assert press(session, 999, f"alert:{alert.id}:ack").outcome == ButtonOutcome.NOT_ALLOWED
    assert press(session, 200, f"alert:{alert.id}:ack").outcome == ButtonOutcome.NOT_ALLOWED
    assert press(session, 100, "alert:abc:ack").outcome == ButtonOutcome.INVALID
    assert press(session, 100, "alert:999999:ack").outcome == ButtonOutcome.NOT_FOUND
    done = press(session, 100, f"alert:{alert.id}:ack")
    assert done.outcome == ButtonOutcome.DONE and done.caseworker is not None
    assert alert.state == "acknowledged" and alert.acknowledged_by_id == w.caseworker.id
    assert press(session, 100, f"alert:{alert.id}:ack").outcome == ButtonOutcome.ALREADY
    assert press(session, 100, f"alert:{alert.id}:resolve").outcome == ButtonOutcome.DONE
    assert press(session, 100, f"alert:{alert.id}:ack").outcome == ButtonOutcome.ALREADY
    assert alert.state == "resolved" and concern.status == "resolved"


# -- a blocked bot


def _dead_row(session: Session, recipient: str) -> OutboxItem:
    row = OutboxItem(idempotency_key=f"k-{recipient}", channel="telegram", recipient=recipient,
                     body="x", status="dead")
    session.add(row)
    session.flush()
    return row


def test_blocked_by_landlord_marks_inactive_and_tells_staff(session: Session) -> None:
    w = make_world(session)
    w.landlord.telegram_user_id = w.landlord.telegram_chat_id = 4242
    session.commit()
    row = _dead_row(session, "4242")
    delivery_failures.handle(session, row, PermanentError("Forbidden: bot was blocked", "403"))
    session.commit()
    session.refresh(w.landlord)
    assert w.landlord.telegram_active is False and w.landlord.telegram_chat_id == 4242
    alert = session.scalar(select(Alert).where(Alert.source == "delivery_failed"))
    assert alert is not None and alert.team_id == w.team.id and "Peter Lund" in alert.summary
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "telegram.blocked"))


def test_blocked_by_a_landlord_of_two_municipalities_tells_each_its_own_people(
        session: Session) -> None:
    """Homes in Odense (a tenant with an Odense caseworker) and Svendborg (empty): one alert
    per municipality, each for a team of that municipality (Svendborg's intake route, having
    no tenant there), never an Odense team on a Svendborg alert nobody there could see."""
    from bot.models import Home, Organisation, Team

    w = make_world(session)
    svendborg = Organisation(name="Svendborg Kommune")
    intake = Team(organisation=svendborg, name="Modtagelsen Svendborg")
    session.add_all([svendborg, intake,
                     Home(reference="SB-1", address="Svendborgvej 1", postcode="5700",
                          city="Svendborg", landlord=w.landlord, organisation=svendborg)])
    session.flush()
    svendborg.intake_team_id = intake.id
    w.landlord.telegram_user_id = w.landlord.telegram_chat_id = 4242
    session.commit()
    delivery_failures.handle(session, _dead_row(session, "4242"),
                             PermanentError("Forbidden: bot was blocked", "403"))
    session.commit()
    alerts = {a.organisation_id: a.team_id for a in session.scalars(
        select(Alert).where(Alert.source == "delivery_failed"))}
    assert alerts == {w.org.id: w.team.id, svendborg.id: intake.id}

def test_blocked_by_caseworker_unlinks_chat(session: Session) -> None:
    w = make_world(session)
    w.caseworker.telegram_chat_id = 100
    session.commit()
    delivery_failures.handle(session, _dead_row(session, "100"), PermanentError("x", "403"))
    session.commit()
    session.refresh(w.caseworker)
    assert w.caseworker.telegram_chat_id is None
    alert = session.scalar(select(Alert).where(Alert.source == "delivery_failed"))
    assert alert is not None and alert.team_id == w.team.id


def test_bad_request_changes_nothing(session: Session) -> None:
    w = make_world(session)
    w.landlord.telegram_chat_id = 4242
    session.commit()
    delivery_failures.handle(session, _dead_row(session, "4242"), PermanentError("x", "400"))
    session.commit()
    assert session.get(Landlord, w.landlord.id).telegram_active is True  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(Alert)) == 0
