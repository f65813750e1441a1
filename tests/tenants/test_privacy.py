"""GDPR tooling: export, erasure (no personal data left anywhere), consent, retention, CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

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
from tests.support.factories import World, make_world

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
