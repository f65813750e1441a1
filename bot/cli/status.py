"""`trygthjem status`: one screen for an operator: is the service moving messages?"""

from __future__ import annotations

import json
from typing import Any

import click

from bot.cli.common import main, open_sessions, settings_from_env


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _health(health: Any, now: Any, never: str) -> str:
    """One line for a process kind's heartbeats (bot.ops.heartbeat.ProcessHealth)."""
    from bot.ops.heartbeat import WORKER_STALE

    age = health.age(now)
    if health.last_seen is None:
        return never
    ago = _age(age.total_seconds()) if age else "?"
    if not health.running:
        return (f"NOT RUNNING: last heartbeat {ago} ago "
                f"(over {int(WORKER_STALE.total_seconds() // 60)} min)")
    return f"running: {health.processes} process(es), last heartbeat {ago} ago"


def channels_configured(settings: Any) -> dict[str, str]:
    if settings.console_channels:
        return {c: "console (demo: printed, not sent)" for c in ("sms", "telegram", "email")}
    return {
        "sms": "Twilio " + settings.twilio.from_number if settings.twilio else "not configured",
        "telegram": "configured" if settings.telegram else "not configured",
        "email": f"SMTP {settings.smtp.host}" if settings.smtp else "not configured",
        "webhook": settings.alert_webhook.url if settings.alert_webhook else "not configured",
    }


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Channels, heartbeats, outbox, dead letters and open alerts at a glance."""
    from bot.ops.state import snapshot

    settings = settings_from_env()
    with open_sessions(settings)() as session:
        snap = snapshot(session, include_sent=True)
    channels = channels_configured(settings)
    if as_json:
        click.echo(json.dumps({
            "channels": channels,
            "worker": {"running": snap.worker.running, "processes": snap.worker.processes,
                       "last_seen": snap.worker.last_seen.isoformat()
                       if snap.worker.last_seen else None},
            "bot": {"running": snap.bot.running, "processes": snap.bot.processes,
                    "last_seen": snap.bot.last_seen.isoformat() if snap.bot.last_seen else None},
            "outbox": [{"channel": c, "status": s, "rows": n}
                       for (c, s), n in sorted(snap.outbox.items())],
            "oldest_due_seconds": snap.oldest_due_seconds,
            "oldest_due_alert_seconds": snap.oldest_due_alert_seconds,
            "dead_letters": [{"id": d.id, "channel": d.channel, "kind": d.kind,
                              "at": d.created_at.isoformat(), "reason": d.reason}
                             for d in snap.dead_letters],
            "alerts": [{"severity": s, "state": st, "count": n}
                       for (s, st), n in sorted(snap.alerts.items())],
            "past_policy": snap.past_policy,
            "undelivered_alerts": snap.undelivered_alert_ids,
            "stuck_inbound_sms": snap.stuck_inbound_ids,
        }, indent=2))
        return
    out = ["Trygt Hjem status " + snap.now.strftime("%Y-%m-%d %H:%M:%S UTC"), "", "Channels"]
    out += [f"  {name:<9} {what}" for name, what in channels.items()]
    out += ["", "Worker", "  " + _health(
        snap.worker, snap.now, "NOT RUNNING: no worker has ever written a heartbeat")]
    # Polling is one way to run the bot; with the webhook no such process exists, by design.
    out += ["", "Telegram bot (polling, `trygthjem bot`)", "  " + _health(
        snap.bot, snap.now, "none has run (with the webhook none is needed)")]
    out += ["", "Outbox (rows by channel and state)"]
    if not snap.outbox:
        out.append("  empty")
    for (channel, state), count in sorted(snap.outbox.items()):
        due = snap.oldest_due_seconds.get(channel) if state in ("pending", "sending") else None
        late = f"  (oldest due waiting {_age(due)})" if due is not None else ""
        alert_due = snap.oldest_due_alert_seconds.get(channel) if state == "pending" else None
        if alert_due is not None:
            late += f"  (an ALERT message waiting {_age(alert_due)})"
        out.append(f"  {channel:<9} {state:<10} {count:>7}{late}")
    dead = sum(n for (_c, s), n in snap.outbox.items() if s == "dead")
    out += ["", f"Dead letters: {dead}" + (" (newest first)" if dead else "")]
    out += [f"  #{d.id} {d.created_at:%Y-%m-%d %H:%M} {d.channel}/{d.kind}: {d.reason}"
            for d in snap.dead_letters]
    out += ["", "Alerts open (not resolved)"]
    severities = ("critical", "high", "low")
    if not snap.alerts:
        out.append("  none")
    for severity in severities:
        opened = snap.alerts.get((severity, "open"), 0)
        acked = snap.alerts.get((severity, "acknowledged"), 0)
        if opened or acked:
            oldest = snap.oldest_unacknowledged_seconds.get(severity)
            extra = f", oldest unacknowledged {_age(oldest)}" if oldest is not None else ""
            past = snap.past_policy.get(severity, 0)
            extra += f", {past} past their policy" if past else ""
            out.append(f"  {severity:<9} {opened} open, {acked} acknowledged{extra}")
    undelivered = snap.undelivered_alert_ids
    out += ["", f"Undelivered alerts (no step reached anyone): {len(undelivered)}"
            + (": #" + ", #".join(map(str, undelivered[:20])) if undelivered else "")]
    stuck = snap.stuck_inbound_ids
    out += [f"Inbound SMS not processed (failed again and again): {len(stuck)}"
            + (": message #" + ", #".join(map(str, stuck[:20])) if stuck else "")]
    click.echo("\n".join(out))
