"""Audit trail helpers: record who read or changed personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.models import AuditEvent


def record(session: Session, actor: str, action: str, subject_type: str,
           subject_id: object = None, **detail: Any) -> AuditEvent:
    """Add an audit event to the caller's transaction (so it commits or rolls back with it)."""
    event = AuditEvent(actor=actor, action=action, subject_type=subject_type,
                       subject_id=None if subject_id is None else str(subject_id), detail=detail)
    session.add(event)
    return event
