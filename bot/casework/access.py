"""Who may see what: the dashboard's and API's access rules, as pure functions.

Least data per role (GDPR):
- a caseworker sees the tenants assigned to them, and the alerts of their own team;
- a team lead sees the tenants and alerts of their team;
- the municipality's intake team also sees its alerts that belong to no team (an unknown
  sender, a concern about an empty home): they are the route for those;
- an admin sees the whole organisation (municipality), and its audit log;
- an inactive caseworker sees nothing; landlords never reach the dashboard (they are not
  caseworkers, so they cannot log in at all).

Nothing crosses a municipality: every alert stores its own (`Alert.organisation_id`) and an
alert without one is nobody's to read. Whoever may see an alert may act on it, through every
door alike (dashboard, API, SMS reply codes, Telegram buttons): :func:`can_act_on_alert`.
The functions take small snapshots (`Viewer`, `TenantRef`, `AlertRef`), not database rows, so
they are trivially testable; `bot.casework.queries` turns the same rules into SQL filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Same values as `bot.models.Role`; repeated so this module stays database-free."""

    CASEWORKER = "caseworker"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"


@dataclass(frozen=True)
class Viewer:
    id: int
    role: str
    team_id: int
    organisation_id: int
    active: bool = True
    intake: bool = False  # the viewer's team is the municipality's intake team


@dataclass(frozen=True)
class TenantRef:
    organisation_id: int
    caseworker_id: int | None
    caseworker_team_id: int | None


@dataclass(frozen=True)
class AlertRef:
    organisation_id: int | None
    team_id: int | None
    owner_id: int | None = None


def _role(viewer: Viewer) -> Role | None:
    try:
        return Role(viewer.role)
    except ValueError:  # an unknown role grants nothing
        return None


def can_view_tenant(viewer: Viewer, tenant: TenantRef) -> bool:
    role = _role(viewer)
    if not viewer.active or role is None:
        return False
    if role == Role.ADMIN:
        return tenant.organisation_id == viewer.organisation_id
    if role == Role.TEAM_LEAD:
        return (tenant.organisation_id == viewer.organisation_id
                and tenant.caseworker_team_id == viewer.team_id)
    return tenant.caseworker_id == viewer.id


def can_view_alert(viewer: Viewer, alert: AlertRef) -> bool:
    role = _role(viewer)
    if not viewer.active or role is None:
        return False
    if alert.organisation_id is None or alert.organisation_id != viewer.organisation_id:
        return False
    if role == Role.ADMIN or alert.owner_id == viewer.id:
        return True
    if alert.team_id is None:
        return viewer.intake
    return alert.team_id == viewer.team_id


def can_act_on_alert(viewer: Viewer, alert: AlertRef) -> bool:
    """Acknowledge, resolve, reopen, note, reassign: the same people who may see it."""
    return can_view_alert(viewer, alert)


def can_reassign_to(viewer: Viewer, target: Viewer) -> bool:
    """An alert may be handed to an active colleague the viewer could see alerts of."""
    if not (viewer.active and target.active):
        return False
    if _role(viewer) == Role.ADMIN:
        return target.organisation_id == viewer.organisation_id
    return target.team_id == viewer.team_id


def can_export(viewer: Viewer) -> bool:
    """GDPR data exports: team leads (for their team's tenants) and admins."""
    return viewer.active and _role(viewer) in (Role.TEAM_LEAD, Role.ADMIN)


def can_erase(viewer: Viewer) -> bool:
    return viewer.active and _role(viewer) == Role.ADMIN


def can_read_audit_log(viewer: Viewer) -> bool:
    return viewer.active and _role(viewer) == Role.ADMIN
