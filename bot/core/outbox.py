"""The outbox: every outbound message is a row written in the cause's own transaction.

Enqueueing is idempotent on `idempotency_key`; the dispatcher claims due rows with a lease and a
claim token, so a crashed sender's rows are picked up again when the lease runs out and nothing is
lost, and a sender whose lease ran out or moved to another worker can tell before it sends.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from bot.core.bulk import insert_new_rows
from bot.core.db import affected_rows, insert_for_dialect
from bot.models import OutboxItem, OutboxStatus, utcnow
from bot.models.enums import OutboxPriority

DEFAULT_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8


_ENQUEUE_COLUMNS = ("idempotency_key", "channel", "recipient", "body", "kind", "priority",
                    "next_attempt_at", "tenant_id", "caseworker_id", "landlord_id", "payload",
                    "status", "attempts", "created_at")


@functools.cache
def _enqueue_sql(dialect: str) -> Any:
    # Built once per dialect, bound per call: every alert notification (in a tenant's request,
    # too) enqueues, and building the statement cost more than running it. On the table, and
    # through Session.execute so the worker's wake-up hook (bot.core.wakeup) still sees it.
    insert = insert_for_dialect(dialect)
    table = cast(Table, OutboxItem.__table__)
    return (insert(table).values({name: bindparam(name) for name in _ENQUEUE_COLUMNS})
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.id))


def enqueue(
    session: Session,
    *,
    channel: str,
    recipient: str,
    body: str,
    key: str,
    kind: str = "reply",
    not_before: datetime | None = None,
    tenant_id: int | None = None,
    caseworker_id: int | None = None,
    landlord_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Add a message to the outbox unless one with `key` exists; True if this call added it.

    Uses INSERT .. ON CONFLICT DO NOTHING so two workers enqueueing the same key race safely.
    """
    values = dict(
        idempotency_key=key, channel=channel, recipient=recipient, body=body, kind=kind,
        priority=OutboxPriority.of(kind), next_attempt_at=not_before or utcnow(),
        tenant_id=tenant_id, caseworker_id=caseworker_id, landlord_id=landlord_id,
        payload=payload or {}, status=OutboxStatus.PENDING, attempts=0, created_at=utcnow(),
    )
    stmt = _enqueue_sql(session.get_bind().dialect.name)
    return session.execute(stmt, values).scalar() is not None


def status_of(session: Session, key: str) -> str | None:
    """The status of the message queued under ``key`` (None: none is)."""
    return session.scalar(select(OutboxItem.status).where(OutboxItem.idempotency_key == key))


# Alerts first, then conversations, then bulk check-ins; within a priority, oldest due first.
CLAIM_ORDER = (OutboxItem.priority, OutboxItem.next_attempt_at, OutboxItem.id)


def new_claim_token() -> str:
    return uuid.uuid4().hex


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        (OutboxItem.status == OutboxStatus.PENDING) & (OutboxItem.next_attempt_at <= now),
        # A sender that died mid-send: its lease has run out, so the row is due again.
        (OutboxItem.status == OutboxStatus.SENDING) & (OutboxItem.locked_until <= now),
    )


def claim_rows(
    session: Session,
    *,
    token: str,
    now: datetime,
    until: datetime,
    limit: int,
    channels: Collection[str] | None = None,
    exclude: Collection[str] = (),
    more_urgent_than: int | None = None,
    not_to: Collection[str] = (),
) -> list[int]:
    """Mark up to `limit` due rows as claimed under `token` until `until`, in the caller's
    transaction; returns their ids. `not_to`: recipients whose rows are left alone.

    PostgreSQL: FOR UPDATE SKIP LOCKED lets any number of dispatchers share the queue. SQLite has
    one writer at a time, and the conditional UPDATE only succeeds for still-unclaimed rows.
    """
    query = (select(OutboxItem.id).where(_due(now)).order_by(*CLAIM_ORDER).limit(limit))
    if channels is not None:
        query = query.where(OutboxItem.channel.in_(channels))
    if exclude:
        query = query.where(OutboxItem.channel.not_in(exclude))
    if more_urgent_than is not None:
        query = query.where(OutboxItem.priority < more_urgent_than)
    if not_to:
        query = query.where(OutboxItem.recipient.not_in(not_to))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    claimed = session.scalars(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids), _due(now))
        .values(status=OutboxStatus.SENDING, claim_token=token, locked_until=until,
                attempts=OutboxItem.attempts + 1)
        .returning(OutboxItem.id)
        .execution_options(synchronize_session=False))
    return sorted(claimed)


def claimed_items(session: Session, token: str,
                  ids: Collection[int] | None = None) -> list[OutboxItem]:
    """The rows still held under `token` (of `ids` only, if given), most urgent first."""
    query = select(OutboxItem).where(OutboxItem.claim_token == token,
                                     OutboxItem.status == OutboxStatus.SENDING)
    if ids is not None:
        query = query.where(OutboxItem.id.in_(ids))
    return list(session.scalars(
        query.order_by(*CLAIM_ORDER)
        .execution_options(populate_existing=True)))


def claim(
    session: Session,
    *,
    now: datetime | None = None,
    limit: int = 50,
    lease: timedelta = DEFAULT_LEASE,
    channels: tuple[str, ...] | None = None,
) -> list[OutboxItem]:
    """Claim due rows under a new token and commit the claim before anything is sent."""
    now = now or utcnow()
    token = new_claim_token()
    ids = claim_rows(session, token=token, now=now, until=now + lease, limit=limit,
                     channels=channels or None)
    session.commit()
    return claimed_items(session, token) if ids else []


def release(session: Session, token: str, ids: Collection[int]) -> int:
    """Give claimed rows back unsent (a dispatcher stopping): due again at once, the claim's
    attempt not counted."""
    if not ids:
        return 0
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids), OutboxItem.claim_token == token,
               OutboxItem.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.PENDING, claim_token=None, locked_until=None,
                attempts=OutboxItem.attempts - 1)
        .execution_options(synchronize_session=False))
    return affected_rows(result)


def backoff(attempts: int, *, base: float = 15.0, cap: float = 3600.0,
            rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter around the exponential value (0.5x to 1.5x)."""
    rng = rng or random.Random()
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * rng.uniform(0.5, 1.5))


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))) or 0


def enqueue_many(session: Session, messages: list[dict[str, Any]]) -> None:
    """Bulk :func:`enqueue`: each dict holds enqueue's keyword arguments.

    INSERT .. ON CONFLICT DO NOTHING (keys already queued are left alone) of all rows at once,
    through :func:`bot.core.bulk.insert_new_rows`: COPY and one INSERT .. SELECT on
    PostgreSQL, an executemany elsewhere. The check-in planner enqueues thousands at a time.
    """
    if not messages:
        return
    now = utcnow()
    rows = [dict(idempotency_key=m["key"], channel=m["channel"], recipient=m["recipient"],
                 body=m["body"], kind=m.get("kind", "reply"),
                 priority=OutboxPriority.of(m.get("kind", "reply")),
                 next_attempt_at=m.get("not_before") or now, tenant_id=m.get("tenant_id"),
                 caseworker_id=m.get("caseworker_id"), landlord_id=m.get("landlord_id"),
                 payload=m.get("payload") or {}, status=OutboxStatus.PENDING, attempts=0,
                 created_at=now)
            for m in messages]
    insert_new_rows(session, cast(Table, OutboxItem.__table__), rows, ["idempotency_key"])
