"""GDPR tooling: export, erasure (no personal data left anywhere), consent, retention, CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import JSON, String, Text, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import act, raise_alert
from bot.alerts.told import person_told
from bot.casework.queries import add_note, read_tenant, viewer_for
from bot.core import outbox
from bot.core.config import Settings
from bot.delivery.dispatcher import Dispatcher
from bot.models import (
    Alert,
    AlertEvent,
    AuditEvent,
    Base,
    CaseNote,
    CheckIn,
    CheckInStatus,
    Concern,
    Consent,
    Direction,
    Message,
    OutboxItem,
    OutboxStatus,
    Tenant,
    utcnow,
)
from bot.tenants import privacy
from tests.support.alerts import RefusingSms, intake_team, pending_recipients, told_once
from tests.support.factories import World, add_tenant, make_world

NAME, PHONE = "Anna Sørensen", "+4528000301"


def _populate(session: Session) -> World:
    """A tenant with a life: messages both ways, check-ins, an alert from a concern, notes."""
    w = make_world(session)
    t = w.tenant
    now = utcnow()
    session.add_all([
        Message(direction=Direction.IN, channel="sms", provider_id="SM1", sender=PHONE,
                recipient="+4570000000", body="3 jeg har det skidt", tenant_id=t.id,
                reply="Tak, Anna. Din kontaktperson ringer."),
        Message(direction=Direction.OUT, channel="sms", provider_id="SM2", sender="+4570000000",
                recipient=PHONE, body=f"Hej {NAME}, hvordan går det?", tenant_id=t.id),
        CheckIn(tenant_id=t.id, slot_at=now - timedelta(days=7), status=CheckInStatus.ANSWERED,
                answer=3, answered_at=now - timedelta(days=7)),
        CheckIn(tenant_id=t.id, slot_at=now, status=CheckInStatus.SENT, sent_at=now),
    ])
    concern = Concern(reference="C-1", landlord_id=w.landlord.id, home_id=w.home.id,
                      category="wellbeing", urgency="this_week",
                      description=f"Vi er bekymrede for {NAME}", photo_file_id="photo123")
    session.add(concern)
    session.flush()
    alert, _ = raise_alert(session, source="concern", summary=f"{NAME}: udlejer er bekymret",
                           tenant=t, concern=concern, detail={"text": f"ring {PHONE}"})
    add_note(session, viewer_for(w.caseworker), t, f"Talte med {NAME} i telefon", alert=alert)
    outbox.enqueue(session, channel="sms", recipient=PHONE, body=f"Hej {NAME}", key="k1",
                   kind="checkin", tenant_id=t.id)
    session.commit()
    read_tenant(session, viewer_for(w.caseworker), t, via="dashboard")
    session.commit()
    return w


def test_export_holds_everything_and_who_read_it(session: Session) -> None:
    w = _populate(session)
    data = privacy.export_tenant(session, privacy.find_tenant(session, "28 00 03 01"),
                                 actor="cli")
    session.commit()
    json.dumps(data)  # JSON-ready
    assert data["profile"]["name"] == NAME and data["profile"]["phone"] == PHONE
    assert data["profile"]["home"]["reference"] == "FB-1001"
    assert data["profile"]["consent"] == "given"
    assert [m["direction"] for m in data["messages"]] == ["in", "out"]
    assert data["messages"][0]["body"] == "3 jeg har det skidt"
    assert sorted(c["answer"] or 0 for c in data["checkins"]) == [0, 3]
    assert data["alerts"][0]["source"] == "concern"
    assert [e["kind"] for e in data["alerts"][0]["timeline"]] == ["raised", "note"]
    assert data["notes"][0]["body"] == f"Talte med {NAME} i telefon"
    assert data["notes"][0]["author"] == w.caseworker.name
    trail = [(e["actor"], e["action"]) for e in data["access_log"]]
    assert (f"caseworker:{w.caseworker.id}", "view") in trail
    assert ("cli", "export") in trail


def _all_text(session: Session) -> list[tuple[str, str, str]]:
    """Every string and JSON value in every table: (table, column, value)."""
    found = []
    for table in Base.metadata.sorted_tables:
        cols = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        for row in session.execute(select(*cols)) if cols else []:
            for col, value in zip(cols, row, strict=True):
                if value is not None:
                    found.append((table.name, col.name, json.dumps(value, ensure_ascii=False)
                                  if not isinstance(value, str) else value))
    return found


def _resolve_alerts(session: Session, w: World) -> None:
    for alert in session.scalars(select(Alert)):
        act(session, alert, "resolve", actor=w.caseworker, via="dashboard")
    session.commit()


def test_erasure_leaves_no_personal_data_anywhere(session: Session) -> None:
    w = _populate(session)
    _resolve_alerts(session, w)
    before = _all_text(session)
    assert any(NAME in v for *_, v in before) and any(PHONE in v for *_, v in before)
    report = privacy.erase_tenant(session, w.tenant, actor="caseworker:99")
    session.commit()
    session.expire_all()
    leftovers = [(t, c) for t, c, v in _all_text(session)
                 if NAME in v or PHONE in v or "Anna" in v or "28000301" in v]
    assert leftovers == []
    tenant = session.get(Tenant, w.tenant.id)
    assert tenant.erased_at is not None and tenant.phone == f"erased-{tenant.id}"
    assert tenant.home_id is None and tenant.consent == Consent.WITHDRAWN
    assert session.scalars(select(CaseNote)).all() == []
    assert session.scalar(select(OutboxItem.status)) == OutboxStatus.CANCELLED
    # Anonymous counts survive.
    assert len(session.scalars(select(CheckIn)).all()) == 2
    assert len(session.scalars(select(Message)).all()) == 2
    assert (report.notes_deleted, report.outbox_cancelled, report.checkins_kept) == (1, 1, 2)
    erase_audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "erase"))
    assert erase_audit.actor == "caseworker:99" and erase_audit.subject_id == str(tenant.id)
    # Idempotent: a second erasure changes nothing and does not fail.
    privacy.erase_tenant(session, tenant, actor="cli")
    session.commit()


def test_an_open_alert_is_not_lost_to_erasure(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """An open need-help alert, its owner's SMS queued; erasing the tenant is refused and
    changes nothing (a cry for help with its person blanked out is one nobody can act on). The
    SMS then dies at the provider: the alert still escalates to intake and the team lead."""
    w = make_world(session)
    member = intake_team(session, w)
    alert_id = told_once(session, sessions, settings, w, utcnow())
    with sessions() as s, s.begin(), pytest.raises(privacy.AlertStillActive,
                                                   match=f"#{alert_id}"):
        privacy.erase_tenant(s, s.get_one(Tenant, w.tenant.id), actor="admin:1")
    with sessions() as s:
        assert s.get_one(Tenant, w.tenant.id).name == NAME
        assert s.get_one(Alert, alert_id).summary != ""
    assert Dispatcher(sessions, {"sms": RefusingSms()}).run_once().dead == 1  # type: ignore[dict-item]
    with sessions() as s:
        assert not person_told(s, s.get_one(Alert, alert_id))
    run_escalation(sessions, settings, channels={"sms"}, now=utcnow())
    assert pending_recipients(session) == {member.phone, w.lead.phone}


def test_erasure_keeps_who_was_told_and_drops_the_tenants_words(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """The timeline keeps staff ids, channel, step and target (dead-letter matching and the
    record of who was told rest on them); the tenant's words and number go."""
    w = make_world(session)
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="crisis", summary=f"{NAME} skrev", now=utcnow(),
                               tenant=s.get(Tenant, w.tenant.id),
                               detail={"text": "jeg orker ikke mere", "matched": "orker ikke",
                                       "phone": PHONE})
        alert_id = alert.id
    run_escalation(sessions, settings, channels={"sms"}, now=utcnow())
    _resolve_alerts(session, w)
    privacy.erase_tenant(session, session.get_one(Tenant, w.tenant.id), actor="admin:1")
    session.commit()
    session.expire_all()
    details = {e.kind: e.detail for e in session.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id))}
    assert details["raised"] == {"severity": "critical"}
    notified = details["notified"]
    assert (notified["caseworker_id"], notified["channel"], notified["step"],
            notified["target"]) == (w.caseworker.id, "sms", 0, "assigned")


def test_withdrawn_consent_blocks_checkins_and_cancels_queued(session: Session) -> None:
    w = make_world(session)
    outbox.enqueue(session, channel="sms", recipient=PHONE, body="Hvordan går det?", key="c1",
                   kind="checkin", tenant_id=w.tenant.id)
    privacy.record_consent(session, w.tenant, False, actor="caseworker:1")
    session.commit()
    assert w.tenant.consent == Consent.WITHDRAWN and w.tenant.opted_out
    assert session.scalar(select(OutboxItem.status)) == OutboxStatus.CANCELLED
    privacy.record_consent(session, w.tenant, True, actor="caseworker:1")
    session.commit()
    assert w.tenant.consent == Consent.GIVEN and not w.tenant.opted_out
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["consent_withdrawn", "consent_given"]


def test_withdrawn_consent_stops_the_dispatcher(session: Session, sessions, console_channels
                                                 ) -> None:  # type: ignore[no-untyped-def]
    from bot.delivery.dispatcher import Dispatcher

    w = make_world(session)
    privacy.record_consent(session, w.tenant, False, actor="caseworker:1")
    # Queued after the withdrawal (e.g. by a planner that raced it): still not sent.
    outbox.enqueue(session, channel="sms", recipient=PHONE, body="Hvordan går det?", key="c2",
                   kind="checkin", tenant_id=w.tenant.id)
    session.commit()
    Dispatcher(sessions, console_channels).run_once()
    session.expire_all()
    assert session.scalar(select(OutboxItem.status)) == OutboxStatus.CANCELLED
    assert console_channels["sms"].stream.getvalue() == ""


def test_retention_purge_blanks_old_bodies_and_audit_details(session: Session) -> None:
    w = make_world(session)
    now = utcnow()
    old, recent = now - timedelta(days=400), now - timedelta(days=10)
    session.add_all([
        Message(direction="in", channel="sms", provider_id="a", body="gammel", created_at=old,
                tenant_id=w.tenant.id, reply="svar"),
        Message(direction="in", channel="sms", provider_id="b", body="ny", created_at=recent,
                tenant_id=w.tenant.id),
        AuditEvent(actor="x", action="view", subject_type="tenant", subject_id="1", at=old,
                   detail={"via": "dashboard"}),
        AuditEvent(actor="x", action="view", subject_type="tenant", subject_id="1", at=recent,
                   detail={"via": "api"}),
        OutboxItem(idempotency_key="o1", channel="sms", recipient="+45", status="sent",
                   sent_at=now - timedelta(days=31)),
        OutboxItem(idempotency_key="o2", channel="sms", recipient="+45", status="sent",
                   sent_at=now - timedelta(days=29)),
        OutboxItem(idempotency_key="o3", channel="sms", recipient="+45", status="dead",
                   next_attempt_at=now - timedelta(days=60)),
    ])
    session.commit()
    report = privacy.retention_purge(session, retention_days=365, now=now)
    session.commit()
    assert (report.messages_blanked, report.audit_details_blanked, report.outbox_deleted) == \
        (1, 1, 1)
    session.expire_all()
    assert sorted(session.scalars(select(Message.body))) == ["", "ny"]
    assert session.scalar(select(Message.reply).where(Message.provider_id == "a")) is None
    details = session.execute(select(AuditEvent.action, AuditEvent.detail)
                              .order_by(AuditEvent.id)).all()
    assert details[0][1] == {} and details[1][1] == {"via": "api"}
    assert details[-1][0] == "retention_purge"
    assert sorted(session.scalars(select(OutboxItem.idempotency_key))) == ["o2", "o3"]
    # A second run finds nothing more to do and writes no audit noise.
    assert not privacy.retention_purge(session, retention_days=365, now=now)


WORDS = "jeg drikker igen og har ikke taget min medicin"


def _tenant_alert(session: Session, w: World, phone: str, *, at: datetime,
                  then: str | None = None) -> int:
    """A need-help alert raised at ``at`` from a new tenant's words, told to its owner; then
    acknowledged or resolved a minute later (``then``)."""
    tenant = add_tenant(session, w, name=f"T {phone}", phone=phone)
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=tenant, now=at,
                           detail={"text": WORDS, "matched": "medicin", "message_id": 7,
                                   "transcript": WORDS})  # a key added some day: words too
    session.add(AlertEvent(alert=alert, at=at, kind="notified", detail={
        "step": 0, "target": "assigned", "channel": "sms", "caseworker_id": w.caseworker.id,
        "key": f"alert:{alert.id}:e0:step:0:sms:{w.caseworker.id}"}))
    if then is not None:
        act(session, alert, then, actor=w.caseworker, via="dashboard",
            now=at + timedelta(minutes=1))
    session.commit()
    return alert.id


def _details(session: Session, alert_id: int) -> list[dict[str, Any]]:
    session.expire_all()
    return [dict(d) for d in session.scalars(select(AlertEvent.detail).where(
        AlertEvent.alert_id == alert_id).order_by(AlertEvent.id))]


def test_retention_drops_the_tenants_words_from_alerts_resolved_long_ago(
        session: Session) -> None:
    """An alert resolved before the cut-off keeps its record (who was told, on which channel,
    the trigger's severity) but not the tenant's words; an open or acknowledged alert as old,
    and one resolved recently, keep everything: someone may still act on them."""
    w = make_world(session)
    now = utcnow()
    old, recent = now - timedelta(days=400), now - timedelta(days=10)
    resolved = _tenant_alert(session, w, "+4528000401", at=old, then="resolve")
    still_open = _tenant_alert(session, w, "+4528000402", at=old)
    acknowledged = _tenant_alert(session, w, "+4528000403", at=old, then="acknowledge")
    resolved_lately = _tenant_alert(session, w, "+4528000404", at=recent, then="resolve")
    kept = {a: _details(session, a) for a in (still_open, acknowledged, resolved_lately)}
    before = _details(session, resolved)

    report = privacy.retention_purge(session, retention_days=365, now=now)
    session.commit()

    assert report.alert_details_blanked == 1
    after = _details(session, resolved)
    assert WORDS not in json.dumps(after, ensure_ascii=False) and "medicin" not in str(after)
    assert after[0] == {"severity": "high", "summary": "x", "message_id": 7}
    assert after[1:] == before[1:]  # notified (with its key) and resolved: staff's record
    assert {a: _details(session, a) for a in kept} == kept
    assert WORDS in json.dumps(kept[still_open], ensure_ascii=False)
    # Nothing left to do: a second run changes nothing and writes no audit record.
    assert not privacy.retention_purge(session, retention_days=365, now=now)


def _concern(session: Session, w: World, *, at: datetime, then: str | None) -> int:
    from bot.landlords import concern_status  # noqa: F401  (the concern follows its alert)
    from bot.landlords.flow import Draft, submit_concern

    concern = submit_concern(session, w.landlord, Draft(
        home_id=w.home.id, category="wellbeing", urgency="this_week",
        description=f"Vi er bekymrede for {NAME}", photo_file_id="photo123"), now=at)
    alert = session.scalars(select(Alert).where(Alert.concern_id == concern.id)).one()
    if then is not None:
        act(session, alert, then, actor=w.caseworker, via="dashboard",
            now=at + timedelta(minutes=1))
    session.commit()
    return concern.id


def test_retention_blanks_the_description_of_concerns_resolved_long_ago(
        session: Session) -> None:
    """The landlord's words and photo go; the reference, category, urgency, status and dates
    stay (statistics, the landlord's list). A concern whose alert is still acknowledged, or
    was resolved recently, keeps its text."""
    from bot.landlords.flow import my_concerns

    w = make_world(session)
    now = utcnow()
    old = now - timedelta(days=400)
    resolved = _concern(session, w, at=old, then="resolve")
    acknowledged = _concern(session, w, at=old, then="acknowledge")
    lately = _concern(session, w, at=now - timedelta(days=10), then="resolve")
    before = session.get_one(Concern, resolved)
    stamps = (before.reference, before.category, before.urgency, before.status,
              before.created_at, before.updated_at)

    report = privacy.retention_purge(session, retention_days=365, now=now)
    session.commit()

    assert report.concerns_blanked == 1
    session.expire_all()
    purged = session.get_one(Concern, resolved)
    assert (purged.description, purged.photo_file_id) == ("", None)
    assert (purged.reference, purged.category, purged.urgency, purged.status,
            purged.created_at, purged.updated_at) == stamps
    for concern_id in (acknowledged, lately):
        concern = session.get_one(Concern, concern_id)
        assert concern.description == f"Vi er bekymrede for {NAME}"
        assert concern.photo_file_id == "photo123"
    # Not news to the landlord: it stays out of their list of recent concerns.
    assert resolved not in {c.id for c in my_concerns(session, w.landlord, now)}
    assert not privacy.retention_purge(session, retention_days=365, now=now)


def test_retention_blanks_the_texts_of_finished_outbox_rows(session: Session) -> None:
    """Dead, cancelled and sent rows older than the retention lose their text (and channel
    extras: an e-mail's HTML, buttons); a row still to be sent keeps it, as do recent ones."""
    w = make_world(session)
    now = utcnow()
    old = now - timedelta(days=40)
    for key, status, created in (("dead", "dead", old), ("cancelled", "cancelled", old),
                                 ("sent", "sent", old), ("pending", "pending", old),
                                 ("recent", "dead", now - timedelta(days=5))):
        session.add(OutboxItem(idempotency_key=key, channel="sms", recipient=PHONE,
                               body=f"Hej {NAME}", payload={"html": f"<p>{NAME}</p>"},
                               status=status, created_at=created, tenant_id=w.tenant.id,
                               sent_at=now - timedelta(days=20) if status == "sent" else None))
    session.commit()

    report = privacy.retention_purge(session, retention_days=30, now=now)
    session.commit()

    assert report.outbox_blanked == 3
    session.expire_all()
    rows = {r.idempotency_key: (r.body, r.payload) for r in session.scalars(select(OutboxItem))}
    blank = ("", {})
    assert rows["dead"] == rows["cancelled"] == rows["sent"] == blank
    assert rows["pending"] == rows["recent"] == (f"Hej {NAME}", {"html": f"<p>{NAME}</p>"})
    assert not privacy.retention_purge(session, retention_days=30, now=now)


def test_retention_job_is_in_the_worker(runtime) -> None:  # type: ignore[no-untyped-def]
    from scheduler.runner import JOBS, run_once

    assert "retention_purge" in {j.name for j in JOBS}
    results = run_once(runtime)
    assert results["retention_purge"] is None  # empty database: nothing to purge


def test_retention_days_setting_is_validated() -> None:
    from bot.core.config import ConfigError, load_settings

    assert load_settings({}).retention_days == 365
    assert load_settings({"RETENTION_DAYS": "90"}).retention_days == 90
    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        load_settings({"RETENTION_DAYS": "a year"})
    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        load_settings({"RETENTION_DAYS": "5"})


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LOG_FORMAT", "console")
    return CliRunner()


def test_cli_export_and_erase(session: Session, cli_env: CliRunner, tmp_path: Path) -> None:
    from bot.cli import main

    w = _populate(session)
    out = tmp_path / "anna.json"
    result = cli_env.invoke(main, ["tenant", "export", "28000301", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["profile"]["name"] == NAME
    result = cli_env.invoke(main, ["tenant", "erase", PHONE])
    assert result.exit_code != 0 and "--yes" in result.output
    result = cli_env.invoke(main, ["tenant", "erase", PHONE, "--yes"])
    assert result.exit_code != 0 and "not yet resolved: resolve it first" in result.output
    _resolve_alerts(session, w)
    result = cli_env.invoke(main, ["tenant", "erase", PHONE, "--yes"])
    assert result.exit_code == 0, result.output
    assert "Erased tenant" in result.output
    result = cli_env.invoke(main, ["tenant", "export", PHONE])
    assert result.exit_code != 0 and "no tenant with phone" in result.output
    session.expire_all()
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "cli")).all()
    assert sorted(actions) == ["erase", "export"]


def test_cli_set_password(session: Session, cli_env: CliRunner) -> None:
    from bot.casework.passwords import check_password
    from bot.cli import main
    from bot.models import Caseworker

    w = make_world(session)
    result = cli_env.invoke(main, ["caseworker", "set-password", "CW@odense.example"],
                            input="short\nshort\n")
    assert result.exit_code != 0 and "at least" in result.output
    result = cli_env.invoke(main, ["caseworker", "set-password", "cw@odense.example"],
                            input="a long passphrase\na long passphrase\n")
    assert result.exit_code == 0, result.output
    result = cli_env.invoke(main, ["caseworker", "set-password", "nobody@x.example",
                                   "--password-stdin"], input="another passphrase\n")
    assert result.exit_code != 0 and "no caseworker" in result.output
    session.expire_all()
    cw = session.get(Caseworker, w.caseworker.id)
    assert check_password(cw, "a long passphrase") and not check_password(cw, "short")
    cw.active = False
    assert not check_password(cw, "a long passphrase")  # inactive: refused
    assert session.scalar(select(AuditEvent.action)) == "set_password"


def test_erasure_covers_alerts_raised_from_their_number_before_they_were_registered(
        sessions: sessionmaker[Session], session: Session) -> None:
    """An SMS from the number before it was a tenant's raised an unknown-number alert carrying
    the number and the words: while open it holds erasure off like the tenant's own, and once
    resolved erasure blanks it too."""
    w = make_world(session)
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="crisis", summary=f"{w.tenant.phone}: jeg kan ikke mere",
                               sender_phone=w.tenant.phone, now=utcnow())
        alert_id = alert.id
    with sessions() as s, s.begin(), pytest.raises(privacy.AlertStillActive,
                                                   match=f"#{alert_id}"):
        privacy.erase_tenant(s, s.get_one(Tenant, w.tenant.id), actor="admin:1")
    with sessions() as s, s.begin():
        act(s, s.get_one(Alert, alert_id), "resolve", actor=None, via="dashboard")
    with sessions() as s, s.begin():
        privacy.erase_tenant(s, s.get_one(Tenant, w.tenant.id), actor="admin:1")
    with sessions() as s:
        erased = s.get_one(Alert, alert_id)
        assert erased.summary == "" and erased.sender_phone is None
        assert all(w.tenant.phone not in json.dumps(e.detail) for e in erased.events)


def test_erasure_while_a_message_is_at_the_provider_leaves_no_number_or_text(
        sessions: sessionmaker[Session], session: Session) -> None:
    """The tenant is erased while their check-in prompt is being handed to the provider: the
    prompt went out, but neither the outbox row nor the message log keeps their number or the
    text once the erasure has run."""
    w = make_world(session)
    tenant_id, phone = w.tenant.id, w.tenant.phone
    session.commit()
    with sessions() as s, s.begin():
        outbox.enqueue(s, channel="sms", recipient=phone, body="Hej Anna, hvordan går det?",
                       key="checkin:erased", kind="checkin", tenant_id=tenant_id)

    class ErasedMeanwhile:
        name = "sms"

        def send(self, message: Any) -> str:
            with sessions() as s, s.begin():  # an admin presses "erase" during the call
                privacy.erase_tenant(s, s.get_one(Tenant, tenant_id), actor="caseworker:1")
            return "SM123"

    assert Dispatcher(sessions, {"sms": ErasedMeanwhile()}).run_once().sent == 1  # type: ignore[dict-item]
    session.expire_all()
    [row] = session.scalars(select(OutboxItem)).all()
    [sent] = session.scalars(select(Message).where(Message.direction == "out")).all()
    assert phone not in (row.recipient, sent.recipient)
    assert "Anna" not in row.body and "Anna" not in (sent.body or "")
