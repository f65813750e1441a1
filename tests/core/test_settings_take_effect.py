"""Every variable in docs/configuration.md changes behaviour, and a test proves it.

``PROVEN_BY`` names, per documented variable, the test that fails if the setting stopped doing
anything; the first test fails when a documented variable has none. The tests below cover the
variables no other test exercised beyond parsing.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.console import ConsoleChannel
from bot.channels.registry import build_channels
from bot.core.config import load_settings
from bot.core.logs import configure_logging, get_logger
from bot.models import Alert, CheckIn, CheckInStatus, Message, utcnow
from bot.runtime import Runtime
from scheduler import jobs
from tests.support.factories import World

ROOT = Path(__file__).resolve().parents[2]
HERE = "tests/core/test_settings_take_effect.py"

PROVEN_BY = {
    "DATABASE_URL": "tests/checkins/test_checkins_cli.py::test_worker_once_plans_and_sends",
    "SECRET_KEY": f"{HERE}::test_secret_key_signs_the_sessions",
    "PUBLIC_BASE_URL": "tests/channels/test_twilio_channel.py::"
                       "test_send_through_prism_returns_a_sid_and_carries_the_status_callback",
    "TZ_NAME": "tests/core/test_organisations.py::"
               "test_import_creates_the_organisation_with_the_environment_defaults",
    "QUIET_HOURS_START": "tests/core/test_organisations.py::"
                         "test_import_creates_the_organisation_with_the_environment_defaults",
    "QUIET_HOURS_END": "tests/core/test_organisations.py::"
                       "test_import_creates_the_organisation_with_the_environment_defaults",
    "HOLIDAY_COUNTRY": "tests/alerts/test_holidays.py::"
                       "test_holiday_country_none_keeps_holidays_working_days",
    "TWILIO_ACCOUNT_SID": f"{HERE}::test_twilio_settings_build_the_sms_channel",
    "TWILIO_AUTH_TOKEN": f"{HERE}::test_twilio_settings_build_the_sms_channel",
    "TWILIO_FROM_NUMBER": f"{HERE}::test_twilio_settings_build_the_sms_channel",
    "TWILIO_API_URL": f"{HERE}::test_twilio_settings_build_the_sms_channel",
    "SMS_RATE_PER_SECOND": f"{HERE}::test_sms_rate_caps_the_dispatcher",
    "DISPATCH_CONCURRENCY": f"{HERE}::test_dispatch_concurrency_reaches_the_dispatcher",
    "TELEGRAM_BOT_TOKEN": "tests/channels/test_telegram_channel.py::"
                          "test_registry_builds_telegram_only_when_configured",
    "TELEGRAM_API_URL": "tests/webhooks/test_telegram_webhook.py::test_cli_set_webhook",
    "TELEGRAM_WEBHOOK_SECRET": "tests/webhooks/test_telegram_webhook.py::test_cli_set_webhook",
    "TELEGRAM_BOT_USERNAME": "tests/channels/test_telegram_channel.py::test_config_bot_username",
    "SMTP_HOST": f"{HERE}::test_smtp_settings_reach_the_email_channel",
    "SMTP_PORT": f"{HERE}::test_smtp_settings_reach_the_email_channel",
    "SMTP_USERNAME": f"{HERE}::test_smtp_settings_reach_the_email_channel",
    "SMTP_PASSWORD": f"{HERE}::test_smtp_settings_reach_the_email_channel",
    "SMTP_FROM": f"{HERE}::test_smtp_settings_reach_the_email_channel",
    "SMTP_STARTTLS": f"{HERE}::test_smtp_settings_reach_the_email_channel",
    "LOG_FORMAT": f"{HERE}::test_log_format_and_level",
    "LOG_LEVEL": f"{HERE}::test_log_format_and_level",
    "MISSED_ALERT_THRESHOLDS": f"{HERE}::test_missed_thresholds_decide_the_alert_severity",
    "CHECKIN_BATCH_SIZE": f"{HERE}::test_checkin_batch_size_reaches_every_checkin_job",
    "RETENTION_DAYS": f"{HERE}::test_retention_days_decide_what_is_blanked",
    "TRUSTED_PROXIES": "tests/webhooks/test_security.py::"
                       "test_client_address_from_a_trusted_proxy_only",
    "ALERT_SMS_DETAIL": "tests/alerts/test_escalator.py::"
                        "test_minimal_detail_and_english_caseworker",
    "ALERT_WEBHOOK_URL": "tests/alerts/test_escalator.py::"
                         "test_runtime_switches_the_webhook_on_from_settings",
    "ALERT_WEBHOOK_SECRET": "tests/alerts/test_escalator.py::"
                            "test_runtime_switches_the_webhook_on_from_settings",
    "CONSOLE_CHANNELS": f"{HERE}::test_console_channels_print_instead_of_sending",
    "METRICS_TOKEN": "tests/ops/test_metrics.py::test_worker_metrics_port_and_token_from_env",
    "METRICS_PORT": "tests/ops/test_metrics.py::test_worker_metrics_port_and_token_from_env",
    "PROMETHEUS_MULTIPROC_DIR": "tests/ops/test_metrics.py::test_gunicorn_workers_are_added_up",
}


def documented_variables() -> set[str]:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    first_table = text.split("| Variable |", 1)[1].split("\n\n", 1)[0]
    names = set()
    for row in first_table.splitlines():
        first_cell = row.split("|")[1] if row.count("|") > 2 else ""
        names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_every_documented_variable_has_a_test_that_proves_it() -> None:
    documented = documented_variables()
    assert len(documented) > 25
    assert documented == set(PROVEN_BY), "docs/configuration.md and PROVEN_BY disagree"
    for name, node in PROVEN_BY.items():
        path, test = node.split("::")
        source = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {test}(" in source, f"{name}: {node} does not exist"


def test_secret_key_signs_the_sessions(runtime: Runtime) -> None:
    from dataclasses import replace

    from webhooks import create_app

    key = "a-long-and-random-secret-0123456789"
    app = create_app(Runtime(replace(runtime.settings, secret_key=key), runtime.engine,
                             runtime.sessions, runtime.channels))
    assert app.secret_key == key
    unset = replace(runtime.settings, secret_key=None)
    made_up = {create_app(Runtime(unset, runtime.engine, runtime.sessions,
                                  runtime.channels)).secret_key for _ in range(2)}
    assert key not in made_up and len(made_up) == 2  # one per process without SECRET_KEY


def test_twilio_settings_build_the_sms_channel() -> None:
    from bot.channels.twilio.sms import TwilioSmsChannel

    assert "sms" not in build_channels(load_settings({}))
    settings = load_settings({"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "tok",
                              "TWILIO_FROM_NUMBER": "+4528000999",
                              "TWILIO_API_URL": "http://127.0.0.1:4010/"})
    channel = build_channels(settings)["sms"]
    assert isinstance(channel, TwilioSmsChannel)
    assert channel.settings.from_number == "+4528000999"
    assert channel.client.username == "AC" + "a" * 32 and channel.client.password == "tok"
    assert channel.settings.api_url == "http://127.0.0.1:4010"


def test_sms_rate_caps_the_dispatcher(runtime: Runtime) -> None:
    from dataclasses import replace

    settings = replace(load_settings({"SMS_RATE_PER_SECOND": "3.5"}), console_channels=False)
    rates = jobs.send_rates(Runtime(settings, runtime.engine, runtime.sessions, {}))
    assert rates["sms"] == 3.5


def test_dispatch_concurrency_reaches_the_dispatcher(runtime: Runtime) -> None:
    """`trygthjem dispatch` and the worker's job both build the dispatcher from it; the SMS
    channel keeps a connection per send in flight."""
    from dataclasses import replace

    from bot.channels.twilio.sms import TwilioSmsChannel

    assert load_settings({}).dispatch_concurrency == 16
    env = {"DISPATCH_CONCURRENCY": "24", "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
           "TWILIO_AUTH_TOKEN": "tok", "TWILIO_FROM_NUMBER": "+4528000999"}
    settings = replace(load_settings(env), console_channels=False)
    dispatcher = jobs.build_dispatcher(Runtime(settings, runtime.engine, runtime.sessions, {}))
    assert dispatcher.concurrency == 24
    sms = build_channels(settings)["sms"]
    assert isinstance(sms, TwilioSmsChannel)
    assert sms.http_client.session.get_adapter("https://api.twilio.com")._pool_maxsize == 24


def test_smtp_settings_reach_the_email_channel() -> None:
    from bot.channels.base import OutgoingMessage
    from bot.channels.email import EmailChannel

    assert "email" not in build_channels(load_settings({}))
    channel = build_channels(load_settings({
        "SMTP_HOST": "mail.odense.example", "SMTP_PORT": "587", "SMTP_USERNAME": "th",
        "SMTP_PASSWORD": "pw", "SMTP_FROM": "alarm@odense.example", "SMTP_STARTTLS": "yes"}))[
        "email"]
    assert isinstance(channel, EmailChannel)
    s = channel.settings
    assert (s.host, s.port, s.username, s.password, s.starttls) == (
        "mail.odense.example", 587, "th", "pw", True)
    mail = channel.build(OutgoingMessage(recipient="cw@odense.example", body="Trygt Hjem #1",
                                         idempotency_key="k"))
    assert mail["From"] == "alarm@odense.example"


def test_log_format_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("json", "WARNING")
        log = get_logger("settings-test")
        log.info("quiet.info")
        log.warning("loud.warning", n=1)
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert not any("quiet.info" in ln for ln in lines)
        [line] = [ln for ln in lines if "loud.warning" in ln]
        assert json.loads(line)["event"] == "loud.warning"
        configure_logging("console", "INFO")
        get_logger("settings-test2").info("now.visible")
        err = capsys.readouterr().err
        assert "now.visible" in err and not err.lstrip().startswith("{")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _missed_checkin(session: Session, world: World) -> None:
    sent = utcnow() - timedelta(hours=49)
    session.add(CheckIn(tenant_id=world.tenant.id, slot_at=sent, sent_at=sent,
                        status=CheckInStatus.SENT))
    session.commit()


@pytest.mark.parametrize(("raw", "severity"), [(None, "low"), ("1:critical", "critical")])
def test_missed_thresholds_decide_the_alert_severity(
        runtime: Runtime, session: Session, world: World, raw: str | None,
        severity: str) -> None:
    from dataclasses import replace

    env = {} if raw is None else {"MISSED_ALERT_THRESHOLDS": raw}
    settings = replace(runtime.settings, miss_thresholds=load_settings(env).miss_thresholds)
    _missed_checkin(session, world)
    jobs.mark_missed(Runtime(settings, runtime.engine, runtime.sessions, runtime.channels))
    assert session.scalars(select(Alert.severity)).all() == [severity]


def test_checkin_batch_size_reaches_every_checkin_job(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from bot.checkins import planner, sweeps

    seen: dict[str, Any] = {}

    def spy(name: str) -> Any:
        def record(*_a: Any, **kw: Any) -> None:
            seen[name] = kw["batch_size"]
        return record

    monkeypatch.setattr(planner, "plan_checkins", spy("plan"))
    monkeypatch.setattr(sweeps, "send_reminders", spy("remind"))
    monkeypatch.setattr(sweeps, "mark_missed", spy("miss"))
    settings = replace(runtime.settings,
                       checkin_batch_size=load_settings({"CHECKIN_BATCH_SIZE": "77"})
                       .checkin_batch_size)
    rt = Runtime(settings, runtime.engine, runtime.sessions, runtime.channels)
    jobs.plan_checkins(rt)
    jobs.send_reminders(rt)
    jobs.mark_missed(rt)
    assert seen == {"plan": 77, "remind": 77, "miss": 77}


@pytest.mark.parametrize(("days", "left"), [("365", "hundred days old"), ("30", "")])
def test_retention_days_decide_what_is_blanked(
        runtime: Runtime, session: Session, sessions: sessionmaker[Session], world: World,
        days: str, left: str) -> None:
    from dataclasses import replace

    session.add(Message(direction="in", channel="sms", provider_id="old",
                        body="hundred days old", tenant_id=world.tenant.id,
                        created_at=utcnow() - timedelta(days=100)))
    session.commit()
    settings = replace(runtime.settings,
                       retention_days=load_settings({"RETENTION_DAYS": days}).retention_days)
    jobs.retention_purge(Runtime(settings, runtime.engine, runtime.sessions, runtime.channels))
    session.expire_all()
    assert session.scalar(select(Message.body).where(Message.provider_id == "old")) == left


def test_console_channels_print_instead_of_sending() -> None:
    channels = build_channels(load_settings({"CONSOLE_CHANNELS": "1",
                                             "TELEGRAM_BOT_TOKEN": "1:x"}))
    assert set(channels) == {"sms", "telegram", "email", "webhook"}
    assert all(isinstance(c, ConsoleChannel) for c in channels.values())
    assert not isinstance(build_channels(load_settings({"TELEGRAM_BOT_TOKEN": "1:x"}))[
        "telegram"], ConsoleChannel)
