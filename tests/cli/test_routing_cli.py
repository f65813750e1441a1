"""`trygthjem worker` refuses to run blind; `trygthjem org` sets and shows the intake route."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from bot.cli import main
from bot.models import Organisation, Team
from tests.support.factories import World

_CHANNEL_VARS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                 "TELEGRAM_BOT_TOKEN", "SMTP_HOST", "CONSOLE_CHANNELS")
ROOT = Path(__file__).resolve().parents[2]


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHANNEL_VARS}
    return {**env, "DATABASE_URL": db_url, "LOG_FORMAT": "json", "PYTHONPATH": str(ROOT),
            **extra}


@pytest.mark.parametrize("args", [["worker"], ["worker", "--once"]])
def test_worker_with_no_delivery_channel_refuses_to_start(db_url: str, args: list[str]) -> None:
    """The real command in a subprocess: one line naming the variables, exit status 1,
    before anything runs (no job output, no log lines)."""
    proc = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=_env(db_url),
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: the worker will not start: no delivery channel")
    for name in ("TWILIO_ACCOUNT_SID", "TELEGRAM_BOT_TOKEN", "SMTP_HOST"):
        assert name in lines[0]
    assert proc.stdout == ""


def test_worker_with_one_channel_runs(db_url: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "worker", "--once"],
                          env=_env(db_url, SMTP_HOST="127.0.0.1", LOG_LEVEL="WARNING"),
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "escalate_alerts:" in proc.stdout


def _run(db_url: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url,
                                                     "LOG_FORMAT": "console"})


def test_org_intake_sets_shows_and_refuses_a_route_to_nobody(
        db_url: str, session: Session, world: World) -> None:
    intake = Team(organisation=world.org, name="Modtagelsen")
    session.add(intake)
    session.commit()
    empty = _run(db_url, "org", "intake", "Odense Kommune", "--team", "Modtagelsen")
    # Set, but nobody is on the team and there is no admin: said loudly, exit 1.
    assert empty.exit_code == 1 and "reaches nobody" in empty.output
    session.expire_all()
    assert session.get(Organisation, world.org.id).intake_team_id == intake.id  # type: ignore[union-attr]
    ok = _run(db_url, "org", "intake", "Odense Kommune", "--team", world.team.name)
    assert ok.exit_code == 0, ok.output
    assert f"team {world.team.name}" in ok.output and world.caseworker.name in ok.output
    shown = _run(db_url, "org", "route")
    assert shown.exit_code == 0 and f"intake route: team {world.team.name}" in shown.output
    admins = _run(db_url, "org", "intake", "Odense Kommune", "--admins")
    assert admins.exit_code == 1 and "admins" in admins.output  # and no admin exists
    both = _run(db_url, "org", "intake", "Odense Kommune")
    assert both.exit_code == 2
    other = Organisation(name="Svendborg Kommune")
    foreign = Team(organisation=other, name="Svendborg Team")
    session.add_all([other, foreign])
    session.commit()
    refused = _run(db_url, "org", "intake", "Odense Kommune", "--team", "Svendborg Team")
    assert refused.exit_code == 1 and "another municipality" in refused.output
    number = _run(db_url, "org", "sms-number", "Svendborg Kommune", "70 10 40 00")
    assert number.exit_code == 0 and "+4570104000" in number.output
    taken = _run(db_url, "org", "sms-number", "Odense Kommune", "+4570104000")
    assert taken.exit_code == 1 and "already" in taken.output
