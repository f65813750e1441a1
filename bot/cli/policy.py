"""Escalation policies per team and severity: show and set."""

from __future__ import annotations

import click

from bot.cli.common import find_team, main, open_sessions


@main.group()
def policy() -> None:
    """Escalation policies per team: who is told about an alert, how, and when."""


@policy.command("show")
@click.argument("team", required=False)
def policy_show(team: str | None) -> None:
    """Show the policies in force for TEAM (name or id), or for every team."""
    from sqlalchemy import select

    from bot.alerts.policies import describe, load_policy
    from bot.models import EscalationPolicy, Team
    from bot.models.enums import Severity

    with open_sessions()() as session:
        teams = [find_team(session, team)] if team else list(
            session.scalars(select(Team).order_by(Team.id)))
        if not teams:
            click.echo("No teams yet; the built-in defaults apply:")
        for t in teams or [None]:
            if t is not None:
                click.echo(f"Team {t.name} (id {t.id}), working hours "
                           f"{t.work_start:%H:%M}-{t.work_end:%H:%M}:")
            for sev in (Severity.CRITICAL, Severity.HIGH, Severity.LOW):
                own = t is not None and session.scalar(select(EscalationPolicy.id).where(
                    EscalationPolicy.team_id == t.id, EscalationPolicy.severity == sev.value))
                origin = "team policy" if own else "default"
                click.echo(f" {sev.value} ({origin}):")
                for line in describe(load_policy(session, t.id if t else None, sev)):
                    click.echo(f"  {line}")


@policy.command("set")
@click.argument("team")
@click.argument("severity", type=click.Choice(["critical", "high", "low"], case_sensitive=False))
@click.option("--step", "steps", multiple=True, required=True, metavar="MIN:WHO:CHANNELS",
              help="A step, e.g. 0:assigned:sms,telegram or 15:team:sms (repeatable, in order). "
                   "WHO: assigned, team, team_lead. CHANNELS: sms, telegram, email, webhook.")
@click.option("--repeat", default=0, show_default=True, type=click.IntRange(0, 10),
              help="How many more times the whole sequence runs without an acknowledgement.")
@click.option("--working-hours-only", is_flag=True,
              help="Notify only in the team's working hours (for low alerts).")
@click.option("--ack-reminder-minutes", default=24 * 60, show_default=True,
              type=click.IntRange(1, 60 * 24 * 30),
              help="Remind whoever acknowledged an unresolved alert after this long.")
def policy_set(team: str, severity: str, steps: tuple[str, ...], repeat: int,
               working_hours_only: bool, ack_reminder_minutes: int) -> None:
    """Replace TEAM's policy for SEVERITY alerts (applies to steps not yet sent)."""
    from bot.alerts.policies import PolicyError, build_policy, describe, save_policy
    from bot.core.audit import record

    try:
        new = build_policy(steps, repeat=repeat, working_hours_only=working_hours_only,
                           ack_reminder_minutes=ack_reminder_minutes)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    with open_sessions()() as session:
        t = find_team(session, team)
        save_policy(session, t.id, severity.lower(), new)
        record(session, "cli", "policy.set", "team", t.id, severity=severity.lower(),
               steps=list(steps), repeat=repeat, working_hours_only=working_hours_only,
               ack_reminder_minutes=ack_reminder_minutes)
        session.commit()
    click.echo(f"Saved the {severity.lower()} policy for team {t.name}:")
    for line in describe(new):
        click.echo(line)
    """Caseworker accounts."""
