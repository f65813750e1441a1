"""Audit trail helpers: record who read or changed personal data, in which municipality.

Every event stores the municipality it belongs to, so an admin's audit log shows their own
municipality's events only. It is worked out here once (the caller may pass it): from the
subject (a tenant, alert, caseworker, team, or a login's e-mail), else from the acting
caseworker. Events that belong to no municipality (a landlord's, or a failed login for an
unknown e-mail) are kept but shown to no municipality.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Alert, AuditEvent, Caseworker, Team, Tenant

_CASEWORKER_ACTOR = "caseworker:"


def record(session: Session, actor: str, action: str, subject_type: str,
           subject_id: object = None, *, organisation_id: int | None = None,
           **detail: Any) -> AuditEvent:
    """Add an audit event to the caller's transaction (so it commits or rolls back with it)."""
    sid = None if subject_id is None else str(subject_id)
    if organisation_id is None:
        organisation_id = (_subject_organisation(session, subject_type, sid)
                           or _actor_organisation(session, actor))
    event = AuditEvent(actor=actor, action=action, subject_type=subject_type, subject_id=sid,
                       organisation_id=organisation_id, detail=detail)
    session.add(event)
    return event


def _caseworker_organisation(cw: Caseworker | None) -> int | None:
    return cw.team.organisation_id if cw is not None else None


def _subject_organisation(session: Session, kind: str, sid: str | None) -> int | None:
    if sid is None:
        return None
    if kind == "login":  # the e-mail typed at the login form
        return _caseworker_organisation(
            session.scalar(select(Caseworker).where(Caseworker.email == sid)))
    if not (sid.isascii() and sid.isdigit() and len(sid) <= 9):
        return None
    key = int(sid)
    if kind == "tenant":
        tenant = session.get(Tenant, key)
        return tenant.organisation_id if tenant is not None else None
    if kind == "alert":
        alert = session.get(Alert, key)
        return alert.organisation_id if alert is not None else None
    if kind == "caseworker":
        return _caseworker_organisation(session.get(Caseworker, key))
    if kind == "team":
        team = session.get(Team, key)
        return team.organisation_id if team is not None else None
    return None


def _actor_organisation(session: Session, actor: str) -> int | None:
    if not actor.startswith(_CASEWORKER_ACTOR):
        return None
    ref = actor[len(_CASEWORKER_ACTOR):]
    if not (ref.isascii() and ref.isdigit() and len(ref) <= 9):
        return None
    return _caseworker_organisation(session.get(Caseworker, int(ref)))
