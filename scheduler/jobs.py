"""The worker's jobs; each is a thin call into bot/ with the process's runtime."""

from __future__ import annotations

from bot.alerts.escalator import EscalationStats, run_escalation
from bot.channels.telegram import RATE_PER_SECOND as TELEGRAM_RATE_PER_SECOND
from bot.checkins import planner, sweeps
from bot.delivery import failures as delivery_failures
from bot.delivery.dispatcher import Dispatcher, DispatchStats
from bot.models.enums import Channel
from bot.runtime import Runtime


def send_rates(runtime: Runtime) -> dict[str, float]:
    """Providers' send caps, global across workers; console channels (demo) print and need none."""
    if runtime.settings.console_channels:
        return {}
    return {Channel.SMS: runtime.settings.sms_rate_per_second,
            Channel.TELEGRAM: TELEGRAM_RATE_PER_SECOND}


def build_dispatcher(runtime: Runtime) -> Dispatcher:
    return Dispatcher(runtime.sessions, runtime.channels, rates=send_rates(runtime),
                      on_permanent_failure=delivery_failures.handle,
                      concurrency=runtime.settings.dispatch_concurrency)


def dispatch_outbox(runtime: Runtime) -> DispatchStats | None:
    stats = build_dispatcher(runtime).run_once()
    return stats if stats.handled else None


def plan_checkins(runtime: Runtime) -> planner.PlanResult | None:
    result = planner.plan_checkins(runtime.sessions,
                                    batch_size=runtime.settings.checkin_batch_size)
    return result or None


def start_checkins(runtime: Runtime) -> int | None:
    """Deferred (quiet-hours) check-ins become SENT when their prompt is due to go."""
    return sweeps.promote_due(runtime.sessions) or None


def send_reminders(runtime: Runtime) -> sweeps.SweepResult | None:
    result = sweeps.send_reminders(runtime.sessions,
                                     batch_size=runtime.settings.checkin_batch_size)
    return result or None


def mark_missed(runtime: Runtime) -> sweeps.SweepResult | None:
    result = sweeps.mark_missed(runtime.sessions, thresholds=runtime.settings.miss_thresholds,
                                  batch_size=runtime.settings.checkin_batch_size)
    return result or None
def retention_purge(runtime: Runtime) -> object:
    """GDPR retention: blank old message bodies and audit details, drop old sent outbox rows."""
    from bot.core.db import transaction
    from bot.tenants.privacy import retention_purge as purge

    with transaction(runtime.sessions) as session:
        report = purge(session, retention_days=runtime.settings.retention_days)
    return report or None


def reconcile_sms_status(runtime: Runtime) -> object:
    """Twilio status callbacks that came before their send was recorded, applied now."""
    from bot.core.db import transaction
    from bot.delivery.sms_status import reconcile_kept

    with transaction(runtime.sessions) as session:
        return reconcile_kept(session) or None


def process_stranded_inbound(runtime: Runtime) -> object:
    """Inbound SMS stored but left unprocessed (the webhook's processing failed): process them,
    their replies by the outbox."""
    from bot.tenants.stranded import process_stranded

    return process_stranded(runtime.sessions, runtime.delivery) or None


def escalate_alerts(runtime: Runtime) -> EscalationStats | None:
    """Notify caseworkers about due alert steps and acknowledged-but-open reminders."""
    stats = run_escalation(runtime.sessions, runtime.settings, channels=set(runtime.channels))
    return stats if stats else None


def expire_concern_drafts(runtime: Runtime) -> int | None:
    """End landlords' Telegram concern reports left unanswered (bot.landlords.flow)."""
    from bot.core.db import transaction
    from bot.landlords.flow import expire_abandoned

    with transaction(runtime.sessions) as session:
        return expire_abandoned(session) or None


def heartbeat(runtime: Runtime) -> None:
    """Tell the database this worker is alive (read by the dashboard banner and /metrics)."""
    from bot.core.db import transaction
    from bot.ops.heartbeat import beat

    with transaction(runtime.sessions) as session:
        beat(session, "worker")
