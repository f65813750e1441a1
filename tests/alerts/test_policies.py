"""Stored escalation policies, the `trygthjem policy` commands, and the escalation settings."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import raise_alert
from bot.alerts.policies import PolicyError, build_policy, load_policy, parse_step, save_policy
from bot.alerts.shifts import policy_and_hours
from bot.alerts.timetable import DEFAULT_POLICIES, Policy, Step
from bot.channels.email import EmailChannel
from bot.channels.registry import build_channels
from bot.channels.webhook import WebhookChannel
from bot.cli import main
from bot.core.config import ConfigError, Settings, load_settings
from bot.models import AuditEvent, EscalationPolicy, EscalationStep
from bot.models.enums import Severity, Target
from tests.support.factories import make_world
from tests.support.statements import counted

CUSTOM = Policy(steps=(Step(0, Target.TEAM, ("sms",)),  # type: ignore[arg-type]
                       Step(5, Target.TEAM_LEAD, ("sms", "email"))),  # type: ignore[arg-type]
                repeat=1, working_hours_only=True, ack_reminder_minutes=90)


def test_load_falls_back_from_team_to_deployment_to_defaults(session: Session) -> None:
    w = make_world(session)
    assert load_policy(session, w.team.id, "high") == DEFAULT_POLICIES[Severity.HIGH]
    save_policy(session, None, "high", CUSTOM)
    assert load_policy(session, w.team.id, "high") == CUSTOM  # deployment-wide override
    team_own = Policy(steps=(Step(0, Target.ASSIGNED, ("email",)),),  # type: ignore[arg-type]
                      repeat=0, working_hours_only=False)
    save_policy(session, w.team.id, Severity.HIGH, team_own)
    session.commit()
    assert load_policy(session, w.team.id, "high") == team_own
    assert load_policy(session, w.team.id, "critical") == DEFAULT_POLICIES[Severity.CRITICAL]
    assert load_policy(session, None, "high") == CUSTOM


def test_a_policy_without_steps_does_not_count_and_the_escalator_reads_what_load_reads(
        session: Session, settings: Settings) -> None:
    """The escalator reads the policy beside the working hours (one statement): the same
    lookup order as load_policy, steps in their order, a stepless row skipped."""
    w = make_world(session)
    save_policy(session, None, "high", CUSTOM)
    session.add(EscalationPolicy(team_id=w.team.id, severity="high"))  # no steps
    session.commit()
    assert load_policy(session, w.team.id, "high") == CUSTOM
    alert, _ = raise_alert(session, source="need_help", summary="3", tenant=w.tenant)
    assert policy_and_hours(session, alert, settings)[0] == CUSTOM
    team_own = Policy(steps=(Step(0, Target.ASSIGNED, ("email",)),  # type: ignore[arg-type]
                             Step(9, Target.TEAM, ("sms",)),  # type: ignore[arg-type]
                             Step(30, Target.TEAM_LEAD, ("sms",))),  # type: ignore[arg-type]
                      repeat=2, working_hours_only=True, ack_reminder_minutes=60)
    save_policy(session, w.team.id, "high", team_own)
    assert policy_and_hours(session, alert, settings)[0] == team_own == load_policy(
        session, w.team.id, "high")


def test_the_policy_is_read_once_per_transaction_and_afresh_in_the_next(
        sessions: sessionmaker[Session], session: Session, settings: Settings,
        engine: Engine) -> None:
    """Escalating an alert and then asking whether its route can be reached read its policy
    once in a request (bot.alerts.shifts keeps it for the transaction); a policy another
    process saved is seen by the next transaction."""
    w = make_world(session)
    alert, _ = raise_alert(session, source="need_help", summary="3", tenant=w.tenant)
    session.commit()
    with counted(engine) as statements:
        assert policy_and_hours(session, alert, settings)[0] == DEFAULT_POLICIES[Severity.HIGH]
        assert policy_and_hours(session, alert, settings)[0] == DEFAULT_POLICIES[Severity.HIGH]
    assert len(statements) == 1
    with sessions() as other, other.begin():
        save_policy(other, w.team.id, "high", CUSTOM)
    session.commit()
    assert policy_and_hours(session, alert, settings)[0] == CUSTOM


def test_save_replaces_steps(session: Session) -> None:
    w = make_world(session)
    save_policy(session, w.team.id, "low", CUSTOM)
    session.commit()
    shorter = Policy(steps=(Step(3, Target.ASSIGNED, ("sms",)),),  # type: ignore[arg-type]
                     repeat=0, working_hours_only=False)
    save_policy(session, w.team.id, "low", shorter)
    session.commit()
    assert load_policy(session, w.team.id, "low") == shorter
    assert session.scalar(select(func.count()).select_from(EscalationStep)) == 1


def test_step_parsing_errors_say_what_is_wrong() -> None:
    assert parse_step(" 15:Team:SMS, telegram ") == Step(15, Target.TEAM,
                                                         ("sms", "telegram"))  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="MINUTES:TARGET:CHANNELS"):
        parse_step("15-team-sms")
    with pytest.raises(PolicyError, match="unknown step target 'boss'"):
        parse_step("15:boss:sms")
    with pytest.raises(PolicyError, match="unknown channel"):
        parse_step("15:team:pigeon")
    with pytest.raises(PolicyError, match="sorted"):
        build_policy(["30:team:sms", "0:assigned:sms"], repeat=0, working_hours_only=False,
                     ack_reminder_minutes=60)


def _cli(args: list[str], db_url: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, args, env={"DATABASE_URL": db_url, "LOG_FORMAT": "console"})


def test_cli_policy_set_and_show(session: Session, db_url: str) -> None:
    w = make_world(session)
    result = _cli(["policy", "set", w.team.name, "critical", "--step", "0:assigned:sms,telegram",
                   "--step", "10:team:sms", "--step", "20:team_lead:sms,email", "--repeat", "2",
                   "--ack-reminder-minutes", "120"], db_url)
    assert result.exit_code == 0, result.output
    assert "Saved the critical policy for team Housing First Odense" in result.output
    session.expire_all()
    policy = load_policy(session, w.team.id, "critical")
    assert [s.after_minutes for s in policy.steps] == [0, 10, 20]
    assert policy.repeat == 2 and policy.ack_reminder_minutes == 120
    assert session.scalar(select(AuditEvent.action)) == "policy.set"

    shown = _cli(["policy", "show", str(w.team.id)], db_url)
    assert shown.exit_code == 0, shown.output
    assert "critical (team policy)" in shown.output and "high (default)" in shown.output
    assert "after   10 min: team      by sms" in shown.output
    assert "working hours only" in shown.output  # the low default
    everything = _cli(["policy", "show"], db_url)
    assert everything.exit_code == 0 and "Team Housing First Odense" in everything.output


def test_cli_policy_errors_are_one_clear_line(session: Session, db_url: str) -> None:
    w = make_world(session)
    bad_step = _cli(["policy", "set", w.team.name, "high", "--step", "0:boss:sms"], db_url)
    assert bad_step.exit_code == 1 and "unknown step target 'boss'" in bad_step.output
    assert "Traceback" not in bad_step.output
    no_team = _cli(["policy", "set", "Nowhere", "high", "--step", "0:assigned:sms"], db_url)
    assert no_team.exit_code == 1
    assert "'Nowhere' is not a team. Teams: Housing First Odense" in no_team.output
    bad_sev = _cli(["policy", "set", w.team.name, "urgent", "--step", "0:assigned:sms"], db_url)
    assert bad_sev.exit_code == 2 and "critical" in bad_sev.output
    no_step = _cli(["policy", "set", w.team.name, "high"], db_url)
    assert no_step.exit_code == 2 and "--step" in no_step.output
    session.expire_all()
    assert load_policy(session, w.team.id, "high") == DEFAULT_POLICIES[Severity.HIGH]


def test_alert_settings_are_validated() -> None:
    s = load_settings({})
    assert s.alert_sms_detail == "name_area" and s.alert_webhook is None
    s = load_settings({"ALERT_SMS_DETAIL": "Minimal",
                       "ALERT_WEBHOOK_URL": "https://case.example/hook",
                       "ALERT_WEBHOOK_SECRET": "0123456789abcdefXYZ"})
    assert s.alert_sms_detail == "minimal"
    assert s.alert_webhook is not None and s.alert_webhook.url == "https://case.example/hook"
    with pytest.raises(ConfigError) as err:
        load_settings({"ALERT_SMS_DETAIL": "everything", "ALERT_WEBHOOK_URL": "ftp://x"})
    text = str(err.value)
    assert "ALERT_SMS_DETAIL='everything'" in text
    assert "ALERT_WEBHOOK_SECRET must be set together with ALERT_WEBHOOK_URL" in text
    with pytest.raises(ConfigError, match="ALERT_WEBHOOK_SECRET is too short"):
        load_settings({"ALERT_WEBHOOK_URL": "https://x.example", "ALERT_WEBHOOK_SECRET": "abc"})
    with pytest.raises(ConfigError, match="ALERT_WEBHOOK_URL='ftp://x' must be an absolute"):
        load_settings({"ALERT_WEBHOOK_URL": "ftp://x",
                       "ALERT_WEBHOOK_SECRET": "0123456789abcdefXYZ"})


def test_registry_builds_email_and_webhook_when_configured() -> None:
    assert build_channels(load_settings({})) == {}
    channels = build_channels(load_settings({
        "SMTP_HOST": "127.0.0.1", "ALERT_WEBHOOK_URL": "https://case.example/hook",
        "ALERT_WEBHOOK_SECRET": "0123456789abcdefXYZ"}))
    assert isinstance(channels["email"], EmailChannel)
    assert isinstance(channels["webhook"], WebhookChannel)
