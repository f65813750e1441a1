"""The escalation timer against a real database, driven by explicit `now` values.

T0 is Tuesday 3 March 2026, 10:00 in Copenhagen (09:00 UTC, CET).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import events as alert_webhook
from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import act, raise_alert
from bot.alerts.policies import save_policy
from bot.alerts.timetable import Policy, Step
from bot.casework.reply_codes import parse_reply_code
from bot.channels.console import ConsoleChannel
from bot.core.config import Settings, load_settings
from bot.models import Alert, AlertEvent, Caseworker, OutboxItem, Tenant, utcnow
from bot.runtime import Runtime, build_runtime
from tests.support.concurrency import run_together
from tests.support.factories import World, add_tenant, make_world

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def rows(session: Session, *, after: int = 0) -> list[OutboxItem]:
    session.expire_all()
    return list(session.scalars(select(OutboxItem).where(OutboxItem.id > after)
                                .order_by(OutboxItem.id)))


def last_id(session: Session) -> int:
    return session.scalar(select(func.max(OutboxItem.id))) or 0


def events(session: Session, alert_id: int, kind: str | None = None) -> list[AlertEvent]:
    query = select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
    if kind:
        query = query.where(AlertEvent.kind == kind)
    session.expire_all()
    return list(session.scalars(query))


def raise_(sessions: sessionmaker[Session], w: World, source: str, at: datetime,
           tenant_id: int | None = None, **kw: object) -> int:
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tenant_id or w.tenant.id)
        alert, _ = raise_alert(s, source=source, summary="test", tenant=tenant, now=at, **kw)
        return alert.id


def second_tenant(session: Session, w: World) -> int:
    return add_tenant(session, w).id


def acting(sessions: sessionmaker[Session], alert_id: int, action: str, by: int,
           at: datetime) -> None:
    with sessions() as s, s.begin():
        act(s, s.get(Alert, alert_id), action, actor=s.get(Caseworker, by), via="sms", now=at)


def test_need_help_sms_with_reply_code_then_acknowledge_stops_escalation(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    alert_id = raise_(sessions, w, "need_help", T0)
    stats = run_escalation(sessions, settings, now=T0)
    assert stats.steps == 1 and stats.messages == 1
    [sms] = rows(session)
    assert sms.channel == "sms" and sms.recipient == w.caseworker.phone
    assert sms.body == (f"Trygt Hjem #{alert_id} HØJ: Anna (Vollsmose) har bedt om hjælp. "
                        f"Svar {alert_id} OK for at kvittere, {alert_id} LØST for at lukke.")
    assert sms.caseworker_id == w.caseworker.id and sms.tenant_id is None  # STOP must not block
    assert sms.kind == "alert"
    reply = parse_reply_code(f"{alert_id} ok")
    assert reply is not None and reply.alert_id == alert_id
    # No Telegram chat linked: skipped, and the skip is on the timeline.
    [skip] = events(session, alert_id, "skipped")
    assert skip.detail["channel"] == "telegram" and skip.detail["reason"] == "no Telegram chat"
    assert [e.detail["channel"] for e in events(session, alert_id, "notified")] == ["sms"]
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.steps_done == 1 and alert.next_action_at == minutes(30)

    acting(sessions, alert_id, "acknowledge", w.caseworker.id, minutes(5))
    mark = last_id(session)
    for at in (minutes(30), minutes(60), minutes(600)):
        run_escalation(sessions, settings, now=at)
    assert rows(session, after=mark) == []
    session.expire_all()
    assert session.get(Alert, alert_id).steps_done == 1  # type: ignore[union-attr]


def test_critical_escalates_to_team_then_lead_then_repeats(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    w.caseworker.telegram_chat_id = 5550001
    session.commit()
    alert_id = raise_(sessions, w, "crisis", T0)

    run_escalation(sessions, settings, now=T0)
    first = rows(session)
    assert {(r.channel, r.recipient) for r in first} == {("sms", w.caseworker.phone),
                                                         ("telegram", "5550001")}
    tg = next(r for r in first if r.channel == "telegram")
    assert tg.payload == {"buttons": [[
        {"text": "Kvittér", "data": f"alert:{alert_id}:e0:ack"},  # its first escalation
        {"text": "Løst", "data": f"alert:{alert_id}:e0:resolve"}]]}
    assert tg.body.startswith(f"Trygt Hjem #{alert_id} KRITISK: Anna (Vollsmose)")
    assert "OK" not in tg.body  # buttons instead of reply codes

    mark = last_id(session)
    run_escalation(sessions, settings, now=minutes(14))
    assert rows(session, after=mark) == []

    run_escalation(sessions, settings, now=minutes(15))
    team = rows(session, after=mark)
    assert sorted(r.recipient for r in team if r.channel == "sms") == sorted(
        [w.lead.phone, w.caseworker.phone, w.colleague.phone])
    assert [r.recipient for r in team if r.channel == "telegram"] == ["5550001"]

    mark = last_id(session)
    run_escalation(sessions, settings, now=minutes(30))
    lead = rows(session, after=mark)
    assert {(r.channel, r.recipient) for r in lead} == {("sms", w.lead.phone),
                                                        ("email", w.lead.email)}

    mark = last_id(session)
    run_escalation(sessions, settings, now=minutes(45))  # second pass starts with the assigned
    assert {r.recipient for r in rows(session, after=mark)} == {w.caseworker.phone, "5550001"}

    for m in (60, 75, 90, 105, 120):
        run_escalation(sessions, settings, now=minutes(m))
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.steps_done == 9 and alert.next_action_at is None
    mark = last_id(session)
    run_escalation(sessions, settings, now=minutes(500))
    assert rows(session, after=mark) == []
    steps = sorted({e.detail["step"] for e in events(session, alert_id, "notified")})
    assert steps == list(range(9))


def test_reminder_for_acknowledged_but_unresolved(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    alert_id = raise_(sessions, w, "crisis", T0)  # critical: reminder after 4 h
    run_escalation(sessions, settings, now=T0)
    acting(sessions, alert_id, "acknowledge", w.colleague.id, minutes(5))
    mark = last_id(session)
    run_escalation(sessions, settings, now=minutes(15))
    assert rows(session, after=mark) == []
    session.expire_all()
    assert session.get(Alert, alert_id).next_action_at == minutes(245)  # type: ignore[union-attr]

    run_escalation(sessions, settings, now=minutes(244))
    assert rows(session, after=mark) == []
    run_escalation(sessions, settings, now=minutes(245))
    run_escalation(sessions, settings, now=minutes(245))  # a second worker tick: no double
    [reminder] = rows(session, after=mark)
    assert reminder.recipient == w.colleague.phone  # the one who acknowledged
    assert reminder.kind == "alert_reminder"
    assert reminder.body == (f"Trygt Hjem #{alert_id} er kvitteret, men ikke løst endnu. "
                             f"Svar {alert_id} LØST, når den er lukket.")

    run_escalation(sessions, settings, now=minutes(485))  # and again after another 4 h
    assert len(rows(session, after=mark)) == 2
    acting(sessions, alert_id, "resolve", w.colleague.id, minutes(490))
    run_escalation(sessions, settings, now=minutes(2000))
    assert len(rows(session, after=mark)) == 2


def _hand_over(sessions: sessionmaker[Session], settings: Settings, alert_id: int, by: int,
               to: int) -> None:
    from bot.casework.queries import reassign_and_tell, viewer_for

    with sessions() as s, s.begin():
        row = s.get_one(Alert, alert_id)
        reassign_and_tell(s, viewer_for(s.get_one(Caseworker, by)), row,
                          s.get_one(Caseworker, to), settings, ["sms"])


def test_reminders_of_an_acknowledged_alert_follow_its_new_owner(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """The owner acknowledged the alert, then handed it to a colleague (leave, illness): the
    reminders go to the colleague who holds the case now, not to the one who acknowledged."""
    w = make_world(session)
    alert_id = raise_(sessions, w, "crisis", T0)  # critical: reminder after 4 h
    run_escalation(sessions, settings, now=T0)
    acting(sessions, alert_id, "acknowledge", w.caseworker.id, minutes(5))
    _hand_over(sessions, settings, alert_id, w.caseworker.id, w.colleague.id)
    mark = last_id(session)
    run_escalation(sessions, settings, now=minutes(245))
    assert [r.recipient for r in rows(session, after=mark)] == [w.colleague.phone]


def test_an_acknowledgement_after_a_handover_keeps_the_reminders_with_who_acknowledged(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    alert_id = raise_(sessions, w, "crisis", T0)
    run_escalation(sessions, settings, now=T0)
    _hand_over(sessions, settings, alert_id, w.caseworker.id, w.colleague.id)
    acting(sessions, alert_id, "acknowledge", w.lead.id, minutes(5))  # the lead covers
    mark = last_id(session)
    run_escalation(sessions, settings, now=minutes(245))
    assert [r.recipient for r in rows(session, after=mark)] == [w.lead.phone]


def test_crisis_at_night_notifies_at_once_low_waits_for_working_hours(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    night = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 03:00 in Copenhagen
    crisis = raise_(sessions, w, "crisis", night)
    low = raise_(sessions, w, "missed", night, tenant_id=second_tenant(session, w),
                 detail={"missed": 1})
    run_escalation(sessions, settings, now=night)
    assert {r.recipient for r in rows(session)} == {w.caseworker.phone}
    assert len(rows(session)) == 1  # only the crisis
    session.expire_all()
    low_alert = session.get(Alert, low)
    assert low_alert is not None and low_alert.steps_done == 0
    assert low_alert.next_action_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # 08:00 local
    assert session.get(Alert, crisis).steps_done == 1  # type: ignore[union-attr]

    def low_rows() -> list[OutboxItem]:
        return [r for r in rows(session) if r.idempotency_key.startswith(f"alert:{low}:")]

    run_escalation(sessions, settings, now=datetime(2026, 3, 3, 6, 59, tzinfo=UTC))
    assert low_rows() == []
    run_escalation(sessions, settings, now=datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    got = low_rows()
    assert {(r.channel, r.recipient) for r in got} == {("sms", w.caseworker.phone),
                                                       ("email", w.caseworker.email)}
    assert "LAV" in got[0].body and "har ikke svaret på check-ins" in got[0].body


def test_low_alert_on_friday_evening_waits_until_monday_morning(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # 18:00 local
    alert_id = raise_(sessions, w, "delivery_failed", friday)
    run_escalation(sessions, settings, now=friday)
    run_escalation(sessions, settings, now=datetime(2026, 3, 7, 12, 0, tzinfo=UTC))  # Saturday
    assert rows(session) == []
    monday = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # 08:00 local
    session.expire_all()
    assert session.get(Alert, alert_id).next_action_at == monday  # type: ignore[union-attr]
    run_escalation(sessions, settings, now=monday)
    assert len(rows(session)) == 2  # SMS and e-mail to the assigned caseworker


def test_team_working_hours_come_from_the_team(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    w.team.work_start = w.team.work_start.replace(hour=9)
    session.commit()
    night = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    alert_id = raise_(sessions, w, "missed", night, detail={"missed": 1})
    run_escalation(sessions, settings, now=night)
    session.expire_all()
    assert session.get(Alert, alert_id).next_action_at == datetime(  # type: ignore[union-attr]
        2026, 3, 3, 8, 0, tzinfo=UTC)


def test_catching_up_after_an_outage_sends_each_person_once(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    alert_id = raise_(sessions, w, "crisis", T0)
    stats = run_escalation(sessions, settings, now=minutes(31))  # worker was down for 31 min
    assert stats.steps == 3
    got = rows(session)
    # Assigned, team, lead were all due: each person once per channel, not three SMS each.
    assert sorted((r.channel, r.recipient) for r in got) == sorted([
        ("sms", w.caseworker.phone), ("sms", w.lead.phone), ("sms", w.colleague.phone),
        ("email", w.lead.email)])
    session.expire_all()
    assert session.get(Alert, alert_id).next_action_at == minutes(45)  # type: ignore[union-attr]


def test_running_twice_at_the_same_moment_enqueues_nothing_new(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    alert_id = raise_(sessions, w, "crisis", T0)
    assert run_escalation(sessions, settings, now=T0).messages == 1
    second = run_escalation(sessions, settings, now=T0)
    assert second.messages == 0 and second.alerts == 0
    # A crash after the outbox insert but before steps_done was stored cannot happen (one
    # transaction), but even a replay of the step is a no-op thanks to the idempotency key.
    with sessions() as s, s.begin():
        s.execute(update(Alert).where(Alert.id == alert_id).values(steps_done=0,
                                                                   next_action_at=T0))
    replay = run_escalation(sessions, settings, now=T0)
    assert replay.steps == 1 and replay.messages == 0
    assert len(rows(session)) == 1


def test_step_that_reaches_nobody_escalates_at_once(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    w.caseworker.phone = None
    session.commit()
    alert_id = raise_(sessions, w, "need_help", T0)
    stats = run_escalation(sessions, settings, now=T0)
    assert stats.unreachable == 1 and stats.steps == 2
    assert sorted(r.recipient for r in rows(session)) == sorted([w.lead.phone,
                                                                 w.colleague.phone])
    skipped = {(e.detail["caseworker_id"], e.detail["channel"], e.detail["reason"])
               for e in events(session, alert_id, "skipped")}
    assert (w.caseworker.id, "sms", "no phone") in skipped
    [unreachable] = events(session, alert_id, "unreachable")
    assert unreachable.detail == {"step": 0, "target": "assigned"}
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.steps_done == 2 and alert.next_action_at == minutes(60)


def test_inactive_owner_and_unconfigured_channel(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    w.caseworker.telegram_chat_id = 777
    session.commit()
    alert_id = raise_(sessions, w, "crisis", T0)
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    assert [r.channel for r in rows(session)] == ["sms"]
    reasons = [e.detail["reason"] for e in events(session, alert_id, "skipped")]
    assert reasons == ["channel not configured"]


def test_repeated_triggers_fold_and_are_counted_on_the_timeline(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    ids = set()
    for n in range(3):
        ids.add(raise_(sessions, w, "need_help", minutes(n)))
        run_escalation(sessions, settings, now=minutes(n))
    [alert_id] = ids
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.trigger_count == 3
    assert len(events(session, alert_id, "folded")) == 2
    assert len(rows(session)) == 1  # folding does not restart the escalation


def test_team_policy_from_the_database_and_email_content(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    save_policy(session, w.team.id, "high", Policy(
        steps=(Step(0, "assigned", ("email",)), Step(10, "team_lead", ("sms",))),  # type: ignore[arg-type]
        repeat=0, working_hours_only=False))
    session.commit()
    alert_id = raise_(sessions, w, "call_me", T0)
    run_escalation(sessions, settings, now=T0)
    # A high alert: the e-mail goes, but tells nobody in time (routing.counts_as_told), so the
    # lead's SMS does not wait its 10 minutes.
    [mail, sms] = rows(session)
    assert mail.channel == "email" and mail.recipient == w.caseworker.email
    link = f"https://trygthjem.test/dashboard/alerts/{alert_id}"
    assert mail.payload["subject"] == (f"Trygt Hjem #{alert_id} HØJ: Anna (Vollsmose) beder om "
                                       "at blive ringet op.")
    assert link in mail.body and f'href="{link}"' in mail.payload["html"]
    assert sms.recipient == w.lead.phone


def test_minimal_detail_and_english_caseworker(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    w.caseworker.language = "en"
    session.commit()
    raise_(sessions, w, "need_help", T0)
    run_escalation(sessions, replace(settings, alert_sms_detail="minimal"), now=T0)
    [sms] = rows(session)
    assert "Anna" not in sms.body and "Vollsmose" not in sms.body and "help" not in sms.body
    assert sms.body.endswith("HIGH: New alert. Reply " + sms.body.split("#")[1].split()[0]
                             + " OK to acknowledge, " + sms.body.split("#")[1].split()[0]
                             + " LØST to close.")


def test_reopened_alert_escalates_again_from_the_reopen(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    alert_id = raise_(sessions, w, "need_help", T0)
    run_escalation(sessions, settings, now=T0)
    acting(sessions, alert_id, "resolve", w.caseworker.id, minutes(5))
    acting(sessions, alert_id, "reopen", w.lead.id, minutes(100))
    mark = last_id(session)
    run_escalation(sessions, settings, now=minutes(100))
    [again] = rows(session, after=mark)
    assert again.recipient == w.caseworker.phone
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.next_action_at == minutes(130)  # not all steps at once


def test_webhook_events_are_enqueued_with_the_change(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    alert_webhook.enable(sessions, "https://case.example/hook")
    alert_id = raise_(sessions, w, "crisis", T0)
    run_escalation(sessions, settings, now=T0)
    acting(sessions, alert_id, "acknowledge", w.caseworker.id, minutes(2))
    acting(sessions, alert_id, "resolve", w.caseworker.id, minutes(3))
    acting(sessions, alert_id, "reopen", w.lead.id, minutes(4))
    hooks = [r for r in rows(session) if r.channel == "webhook"]
    assert [r.kind for r in hooks] == ["alert.raised", "alert.notified", "alert.acknowledged",
                                       "alert.resolved", "alert.reopened"]
    assert {r.recipient for r in hooks} == {"https://case.example/hook"}
    body = json.loads(hooks[1].body)
    assert body["alert"]["id"] == alert_id and body["alert"]["severity"] == "critical"
    assert body["detail"]["channel"] == "sms" and body["detail"]["caseworker_id"] == w.caseworker.id
    raw = " ".join(r.body for r in hooks)
    assert "Anna" not in raw and "test" not in raw  # no names, no summaries
    # Each body names its own timeline row (events written several to a statement).
    timeline = {row.id: row.kind for row in session.execute(select(AlertEvent.id, AlertEvent.kind))}
    assert [timeline[json.loads(r.body)["event_id"]] for r in hooks] == [
        "raised", "notified", "acknowledged", "resolved", "reopened"]


def test_webhook_off_by_default(sessions: sessionmaker[Session], session: Session,
                                settings: Settings) -> None:
    w = make_world(session)
    raise_(sessions, w, "crisis", T0)
    assert [r.channel for r in rows(session)] == []


def test_two_escalators_at_once_never_double_notify(
        sessions: sessionmaker[Session], session: Session, settings: Settings,
        backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("row claims with SKIP LOCKED are a PostgreSQL feature; SQLite has one writer")
    w = make_world(session)
    tenants = [Tenant(organisation=w.org, name=f"T{i}", phone=f"+452900{i:04d}", home=w.home,
                      caseworker=w.caseworker) for i in range(60)]
    session.add_all(tenants)
    session.commit()
    with sessions() as s, s.begin():
        for t in tenants:
            raise_alert(s, source="crisis", summary="x", tenant=s.get(Tenant, t.id), now=T0)
    def worker(_: int) -> None:
        for at in (T0, minutes(15)):
            run_escalation(sessions, settings, now=at, batch=7)

    run_together(worker)
    session.expire_all()
    # Step 0: assigned by SMS (60); step 1: three team members by SMS (180).
    assert session.scalar(select(func.count()).select_from(OutboxItem)) == 240
    notified = session.scalar(select(func.count()).select_from(AlertEvent)
                              .where(AlertEvent.kind == "notified"))
    assert notified == 240  # no step performed twice, not even as a no-op
    assert set(session.scalars(select(Alert.steps_done))) == {2}


def test_worker_jobs_escalate_then_dispatch(runtime: Runtime, session: Session) -> None:
    from scheduler.runner import JOBS, run_once

    assert "escalate_alerts" in [spec.name for spec in JOBS]
    w = make_world(session)
    raise_(runtime.sessions, w, "crisis", utcnow())
    first = run_once(runtime)
    assert first["escalate_alerts"] is not None
    run_once(runtime)  # the dispatcher sends what the escalator enqueued
    sms = runtime.channels["sms"]
    assert isinstance(sms, ConsoleChannel)
    [message] = sms.sent
    assert message.recipient == w.caseworker.phone and "KRITISK" in message.body


def test_runtime_switches_the_webhook_on_from_settings(engine: Engine, db_url: str) -> None:
    settings = load_settings({"DATABASE_URL": db_url,
                              "ALERT_WEBHOOK_URL": "https://case.example/hook",
                              "ALERT_WEBHOOK_SECRET": "0123456789abcdefXYZ"})
    with build_runtime(settings, engine).sessions() as s:
        assert s.info[alert_webhook.INFO_KEY] == "https://case.example/hook"
    with build_runtime(load_settings({"DATABASE_URL": db_url}), engine).sessions() as s:
        assert alert_webhook.INFO_KEY not in s.info


def test_a_broken_alert_does_not_block_the_others(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    good = raise_(sessions, w, "crisis", T0)
    broken = raise_(sessions, w, "need_help", T0, tenant_id=second_tenant(session, w))
    with sessions() as s, s.begin():  # e.g. a row written by a newer release
        s.execute(update(Alert).where(Alert.id == broken).values(source="unknown_source"))
    stats = run_escalation(sessions, settings, now=T0)
    assert stats.alerts == 1 and stats.messages == 1
    assert [r.idempotency_key.split(":")[1] for r in rows(session)] == [str(good)]
    assert len(events(session, broken, "escalation_failed")) == 1
    session.expire_all()
    assert session.get(Alert, broken).next_action_at == minutes(5)  # type: ignore[union-attr]


def test_webhook_reports_a_case_reopened_by_a_new_cry(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """An acknowledged case that a new cry reopens (`retriggered`) is open again and needs a new
    acknowledgement: the case system hears it (`alert.retriggered`, what the cry was), without
    the tenant's words."""
    w = make_world(session)
    alert_webhook.enable(sessions, "https://case.example/hook")
    alert_id = raise_(sessions, w, "need_help", T0)
    run_escalation(sessions, settings, now=T0)
    acting(sessions, alert_id, "acknowledge", w.caseworker.id, minutes(2))
    raise_(sessions, w, "crisis", minutes(60),
           detail={"text": "jeg vil ikke leve mere", "matched": "ikke leve"})
    hooks = [r for r in rows(session) if r.channel == "webhook"]
    assert [r.kind for r in hooks] == ["alert.raised", "alert.notified", "alert.acknowledged",
                                       "alert.retriggered"]
    body = json.loads(hooks[-1].body)
    assert body["alert"]["id"] == alert_id and body["alert"]["state"] == "open"
    assert body["detail"] == {"source": "crisis", "severity": "critical",
                              "from_state": "acknowledged", "from_severity": "high"}
    assert "leve" not in " ".join(r.body for r in hooks)
