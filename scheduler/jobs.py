"""The worker's jobs; each is a thin call into bot/ with the process's runtime."""

from __future__ import annotations

from bot import checkins, delivery_failures
from bot.channels.telegram import RATE_PER_SECOND as TELEGRAM_RATE_PER_SECOND
from bot.dispatch import Dispatcher, DispatchStats
from bot.escalator import EscalationStats, run_escalation
from bot.runtime import Runtime


def send_rates(runtime: Runtime) -> dict[str, float]:
    """Providers' send caps; console channels (demo) print and need none."""
    if runtime.settings.console_channels:
        return {}
    return {"sms": runtime.settings.sms_rate_per_second, "telegram": TELEGRAM_RATE_PER_SECOND}


def dispatch_outbox(runtime: Runtime) -> DispatchStats | None:
    stats = Dispatcher(runtime.sessions, runtime.channels, rates=send_rates(runtime),
                       on_permanent_failure=delivery_failures.handle).run_once()
    return stats if stats.handled else None


def plan_checkins(runtime: Runtime) -> checkins.PlanResult | None:
    result = checkins.plan_checkins(runtime.sessions,
                                    batch_size=runtime.settings.checkin_batch_size)
    return result or None


def start_checkins(runtime: Runtime) -> int | None:
    """Deferred (quiet-hours) check-ins become SENT when their prompt is due to go."""
    return checkins.promote_due(runtime.sessions) or None


def send_reminders(runtime: Runtime) -> checkins.SweepResult | None:
    result = checkins.send_reminders(runtime.sessions,
                                     batch_size=runtime.settings.checkin_batch_size)
    return result or None


def mark_missed(runtime: Runtime) -> checkins.SweepResult | None:
    result = checkins.mark_missed(runtime.sessions, thresholds=runtime.settings.miss_thresholds,
                                  batch_size=runtime.settings.checkin_batch_size)
    return result or None
def retention_purge(runtime: Runtime) -> object:
    """GDPR retention: blank old message bodies and audit details, drop old sent outbox rows."""
    from bot.db import transaction
    from bot.privacy import retention_purge as purge

    with transaction(runtime.sessions) as session:
        report = purge(session, retention_days=runtime.settings.retention_days)
    return report or None


def escalate_alerts(runtime: Runtime) -> EscalationStats | None:
    """Notify caseworkers about due alert steps and acknowledged-but-open reminders."""
    stats = run_escalation(runtime.sessions, runtime.settings, channels=set(runtime.channels))
    return stats if stats else None


def expire_concern_drafts(runtime: Runtime) -> int | None:
    """End landlords' Telegram concern reports left unanswered (bot.landlord_flow)."""
    from bot.db import transaction
    from bot.landlord_flow import expire_abandoned

    with transaction(runtime.sessions) as session:
        return expire_abandoned(session) or None
