"""Inbound SMS that were stored but never processed: the worker processes them.

The webhook stores a message and commits, then processes it in a second transaction
(bot.tenants.inbound). When that second one fails and Twilio's retries (seconds apart) fail too
or never come (a database failover, a web process killed mid-request, a bug one tenant's data
sets off), the message is kept but nothing acts on it: a "3" would raise no alert and nobody
would know. The worker's ``process_stranded_inbound`` job runs :func:`process_stranded`: every
SMS still unprocessed ``STRANDED_AFTER`` after it came, oldest first, each in its own
transaction through the same :func:`bot.tenants.inbound.process` (its claim keeps it
exactly-once against a late Twilio retry or a second worker). The reply the lost request could
not return as TwiML goes through the outbox instead.

A message that fails again is put aside with a backoff (``retry_delay``), so it blocks nobody.
After ``STUCK_AFTER`` failures it is marked ``stuck``: an error in the log (``sms.inbound_stuck``),
the ``trygthjem_inbound_sms_stuck`` gauge, `trygthjem status`, and the tenant's conversation in
the dashboard ("could not be handled: call the tenant") show it, and it is raised as an alert
(:func:`alert_unhandled`: its writer's case, high, critical for crisis words) so that a person
calls whoever wrote it, as for any cry: ops alone is nobody the tenant knows. The worker keeps
trying it (hourly at most) for ``GIVE_UP_AFTER`` from its arrival; after that it is too late
to treat it as just written (a "1" would answer a later check-in, a reply would come a day
late), so it stays stuck for a person. So does an unprocessed message older than that which
was never tried (from before this job existed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import escalate_now
from bot.alerts.lifecycle import raise_alert
from bot.alerts.routing import Delivery, unknown_sender_organisation
from bot.alerts.staff_texts import summary_unhandled, summary_unknown_unhandled
from bot.core import metrics
from bot.core.db import transaction, write_turn
from bot.core.logs import get_logger
from bot.models import Message, Tenant, utcnow
from bot.models.enums import Channel, Severity, Source
from bot.models.messaging import STUCK, UNPROCESSED
from bot.tenants.conversation import stranger_cry
from bot.tenants.inbound import process, staff_with_phone
from bot.tenants.intents import parse

log = get_logger(__name__)

# The webhook processes a message within milliseconds of storing it, and Twilio's retries come
# within seconds: a message older than this has been given up by both.
STRANDED_AFTER = timedelta(minutes=1)
STUCK_AFTER = 5  # failures: the fifth comes a quarter of an hour after the first (1+2+4+8 min)
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=1)
BATCH = 50


@dataclass
class StrandedResult:
    processed: int = 0  # by this run (a message someone else processed meanwhile is not)
    failed: int = 0  # failed again, to be retried later
    stuck: int = 0  # newly stuck: failed STUCK_AFTER times, or too old to be tried any more

    def __bool__(self) -> bool:
        return bool(self.processed or self.failed or self.stuck)


def retry_delay(failures: int) -> timedelta:
    """After the ``failures``-th failure: 1, 2, 4, ... minutes, at most RETRY_CAP."""
    delay: timedelta = RETRY_BASE * 2 ** max(0, failures - 1)
    return min(RETRY_CAP, delay)


# The partial index's own predicate (UNPROCESSED) as text: SQLite uses a partial index only for
# a query that repeats its WHERE terms, and a bound 'in' would not.
_STRANDED = (text(UNPROCESSED), Message.channel == Channel.SMS)
_DUE = (select(Message.id, Message.process_failures)
        .where(*_STRANDED, Message.created_at <= bindparam("stranded_before"),
               Message.created_at >= bindparam("given_up_before"),
               or_(Message.process_retry_at.is_(None),
                   Message.process_retry_at <= bindparam("now")))
        .order_by(Message.created_at, Message.id)
        .limit(bindparam("batch")))
_GIVEN_UP = (update(Message)
             .where(*_STRANDED, Message.created_at < bindparam("given_up_before"),
                    Message.status != STUCK)
             .values(status=STUCK)
             .returning(Message.id)
             .execution_options(synchronize_session=False))


def process_stranded(sessions: sessionmaker[Session], delivery: Delivery, *,
                     now: datetime | None = None, batch: int = BATCH) -> StrandedResult:
    """Process the inbound SMS stranded at ``now`` (see the module docstring)."""
    now = now or utcnow()
    engine = sessions.kw["bind"]
    result = StrandedResult()
    window = {"stranded_before": now - STRANDED_AFTER, "given_up_before": now - GIVE_UP_AFTER}
    with write_turn(engine), transaction(sessions) as session:
        given_up = list(session.scalars(_GIVEN_UP, window))
    for message_id in given_up:
        _stuck(result, message_id, "never processed, and now too old to be processed")
        alert_unhandled(sessions, message_id, delivery, now)  # a person calls, late or not
    seen: set[int] = set()
    while True:
        with sessions() as session:
            due = session.execute(_DUE, {**window, "now": now, "batch": batch}).all()
        rows = [row for row in due if row.id not in seen]
        for message_id, failures in rows:
            seen.add(message_id)
            try:
                with write_turn(engine), transaction(sessions) as session:
                    done = process(session, message_id, delivery=delivery, queue_reply=True)
            except Exception as exc:
                if _put_aside(sessions, message_id, failures + 1, exc, now, result):
                    alert_unhandled(sessions, message_id, delivery, now)
                continue
            if not done.duplicate:  # else a late Twilio retry or another worker had it
                result.processed += 1
                metrics.INBOUND_STRANDED.labels(outcome="processed").inc()
                log.warning("sms.stranded_processed", message_id=message_id,
                            intent=done.intent, failures_before=failures,
                            replied=done.reply is not None)
        if len(due) < batch or not rows:
            return result


def _put_aside(sessions: sessionmaker[Session], message_id: int, failures: int,
               exc: Exception, now: datetime, result: StrandedResult) -> bool:
    """Count a failure and set the next try; True when the message is stuck now. A failure to
    record it (the database gone) ends the run, as any job error does: the next run tries
    again."""
    retry_at = now + retry_delay(failures)
    stuck = {"status": STUCK} if failures >= STUCK_AFTER else {}
    with write_turn(sessions.kw["bind"]), transaction(sessions) as session:
        session.execute(update(Message)
                        .where(Message.id == message_id, Message.processed_at.is_(None))
                        .values(process_failures=failures, process_retry_at=retry_at, **stuck)
                        .execution_options(synchronize_session=False))
    result.failed += 1
    # The type and first line only: an exception's text can quote the tenant's words.
    error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
    if failures == STUCK_AFTER:
        _stuck(result, message_id, error, failures=failures)
        return True
    metrics.INBOUND_STRANDED.labels(outcome="failed").inc()
    log.warning("sms.stranded_failed", message_id=message_id, failures=failures,
                retry_at=retry_at.isoformat(), error=error)
    return False


def alert_unhandled(sessions: sessionmaker[Session], message_id: int, delivery: Delivery,
                    now: datetime) -> int | None:
    """A message that could not be processed told no person what it said, and its writer got
    no answer: raise it on its writer's case (one per tenant or unknown number) for a person to
    call them, high (critical for crisis words, with the cry's source read from its words;
    other words count as a call request, a cry), and escalate it now. Not for a caseworker's
    own number (a reply code). Returns the alert's id; raising runs apart from the
    conversation that failed, and if it fails too the log's error and the stuck gauge are what
    is left."""
    try:
        with write_turn(sessions.kw["bind"]), transaction(sessions) as session:
            message = session.get_one(Message, message_id)
            sender, body = message.sender, message.body or ""
            if staff_with_phone(session, sender) is not None:
                return None
            tenant = session.scalar(select(Tenant).where(Tenant.phone == sender,
                                                         Tenant.erased_at.is_(None)))
            cry = stranger_cry(parse(body), sender)
            # Not a cry in words, but a person must call: as a call request it restarts a
            # dormant case or one about something else (bot.alerts.rules.join_trigger), where
            # a plain message would only fold into it or be passed on as "sent a message".
            source = cry or Source.CALL_ME
            detail = {"message_id": message_id, "unhandled": True, "text": body}
            severity = Severity.CRITICAL if cry is Source.CRISIS else Severity.HIGH
            if tenant is not None:
                lang = tenant.caseworker.language if tenant.caseworker is not None else None
                alert, created = raise_alert(
                    session, source=source, severity=severity, tenant=tenant, now=now,
                    summary=summary_unhandled(lang, tenant.name), detail=detail)
            else:
                alert, created = raise_alert(
                    session, source=source, severity=severity, sender_phone=sender, now=now,
                    summary=summary_unknown_unhandled(None, sender), detail=detail,
                    organisation_id=unknown_sender_organisation(session, message.recipient))
            escalate_now(session, alert, delivery, now, new=created, source=source)
            alert_id = alert.id
    except Exception:
        log.exception("sms.unhandled_alert_failed", message_id=message_id)
        return None
    log.error("sms.unhandled_alerted", message_id=message_id, alert_id=alert_id)
    return alert_id


def _stuck(result: StrandedResult, message_id: int, error: str, failures: int = 0) -> None:
    result.stuck += 1
    metrics.INBOUND_STRANDED.labels(outcome="stuck").inc()
    log.error("sms.inbound_stuck", message_id=message_id, failures=failures, error=error)
