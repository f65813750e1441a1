"""Prometheus gauges read from the database at scrape time (outbox, alerts, heartbeats)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from bot.core.logs import get_logger
from bot.core.metrics import PREFIX
from bot.ops.state import snapshot

log = get_logger(__name__)


class DatabaseStateCollector(Collector):
    """One snapshot per scrape; a database that cannot be read yields `..._state_up 0`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(f"{PREFIX}_state_up",
                               "1 if the database state below could be read at this scrape")
        try:
            with self.sessions() as session:
                snap = snapshot(session)
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics.state_failed", error=str(exc).splitlines()[0][:200])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        rows = GaugeMetricFamily(f"{PREFIX}_outbox_rows", "Outbox rows waiting, being sent or "
                                 "dead, by channel and status", labels=["channel", "status"])
        for (channel, status), count in sorted(snap.outbox.items()):
            rows.add_metric([channel, status], count)
        yield rows
        oldest = GaugeMetricFamily(f"{PREFIX}_outbox_oldest_due_age_seconds",
                                   "How long the oldest due outbox row has waited, by channel "
                                   "(absent when nothing is due)", labels=["channel"])
        for channel, seconds in sorted(snap.oldest_due_seconds.items()):
            oldest.add_metric([channel], seconds)
        yield oldest
        alert_wait = GaugeMetricFamily(
            f"{PREFIX}_outbox_oldest_due_alert_age_seconds",
            "How long the oldest due alert message to a caseworker has waited, by channel "
            "(absent when none is due); alerts go before queued check-ins", labels=["channel"])
        for channel, seconds in sorted(snap.oldest_due_alert_seconds.items()):
            alert_wait.add_metric([channel], seconds)
        yield alert_wait

        alerts = GaugeMetricFamily(f"{PREFIX}_alerts_active", "Open and acknowledged alerts by "
                                   "severity and state", labels=["severity", "state"])
        for (severity, state), count in sorted(snap.alerts.items()):
            alerts.add_metric([severity, state], count)
        yield alerts
        unack = GaugeMetricFamily(f"{PREFIX}_alert_oldest_unacknowledged_age_seconds",
                                  "Age of the oldest open (unacknowledged) alert, by severity",
                                  labels=["severity"])
        past = GaugeMetricFamily(f"{PREFIX}_alerts_past_policy", "Open alerts whose escalation "
                                 "policy has run out with nobody acknowledging, by severity",
                                 labels=["severity"])
        for severity, seconds in sorted(snap.oldest_unacknowledged_seconds.items()):
            unack.add_metric([severity], seconds)
            past.add_metric([severity], snap.past_policy.get(severity, 0))
        yield unack
        yield past
        yield GaugeMetricFamily(f"{PREFIX}_alerts_undelivered", "Active alerts no escalation "
                                "step has reached anyone for",
                                value=len(snap.undelivered_alert_ids))
        yield GaugeMetricFamily(f"{PREFIX}_inbound_sms_stuck", "Inbound SMS whose processing "
                                "failed again and again: nothing has acted on them",
                                value=len(snap.stuck_inbound_ids))

        age = snap.worker.age(snap.now)
        yield GaugeMetricFamily(f"{PREFIX}_worker_heartbeat_age_seconds",
                                "Seconds since any worker last beat (+Inf: never)",
                                value=float("inf") if age is None else age.total_seconds())
        yield GaugeMetricFamily(f"{PREFIX}_worker_processes", "Workers that beat in the last "
                                "2 minutes", value=snap.worker.processes)
        bot_age = snap.bot.age(snap.now)
        yield GaugeMetricFamily(f"{PREFIX}_bot_heartbeat_age_seconds",
                                "Seconds since a polling Telegram bot (trygthjem bot) last beat "
                                "(+Inf: none ever ran, as with the webhook)",
                                value=float("inf") if bot_age is None else bot_age.total_seconds())
        yield GaugeMetricFamily(f"{PREFIX}_bot_processes", "Polling Telegram bots that beat in "
                                "the last 2 minutes", value=snap.bot.processes)
