"""The process's Prometheus metrics: counters and histograms any package may bump.

Definitions only (no database, no web): the dispatcher, the escalator, the scheduler and the web
app each add one line where the event happens. Gauges about the database's state (outbox depth,
open alerts, heartbeats) are read at scrape time by `bot.ops.collector`, so they are never stale
and never summed across processes.

Under gunicorn, set PROMETHEUS_MULTIPROC_DIR (an empty directory, per deployment) before the
processes start: prometheus_client then keeps these values in files that every worker process
writes and the scrape reads together (`bot.ops.exposition`).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PREFIX = "trygthjem"

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests", "Inbound HTTP requests (webhooks, API, dashboard) by route "
    "template and status", ["route", "method", "status"])
HTTP_LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds", "Time to answer an inbound request, by route",
    ["route"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

DISPATCH = Counter(
    f"{PREFIX}_outbox_dispatch", "Outbox rows handled by the dispatcher, by channel and outcome "
    "(sent, retried, dead, cancelled)", ["channel", "outcome"])

ESCALATION_STEPS = Counter(
    f"{PREFIX}_escalation_steps", "Escalation steps performed, by result (delivered: at least "
    "one person was notified; unreachable: nobody could be)", ["result"])

INBOUND_STRANDED = Counter(
    f"{PREFIX}_inbound_sms_stranded", "Inbound SMS the worker took up after the webhook could "
    "not process them, by outcome (processed; failed again; stuck: failed often enough to "
    "need a person)", ["outcome"])

JOB_RUNS = Counter(f"{PREFIX}_job_runs", "Worker job runs (finished, with or without error)",
                   ["job"])
JOB_FAILURES = Counter(f"{PREFIX}_job_failures", "Worker job runs that raised", ["job"])
JOB_DURATION = Histogram(
    f"{PREFIX}_job_duration_seconds", "Worker job run time", ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300))


def dispatched(channel: str, outcome: str) -> None:
    DISPATCH.labels(channel=channel, outcome=outcome).inc()


def escalation_step(reached: int) -> None:
    ESCALATION_STEPS.labels(result="delivered" if reached else "unreachable").inc()
