"""Whose figures a person may see: a team lead their team's, an admin their municipality's."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.access import Role, Viewer, can_view_report
from bot.models import Team


class ReportNotAllowed(PermissionError):
    """This person may not see that report."""


def report_team(session: Session, viewer: Viewer, team_id: int | None) -> int | None:
    """The team the viewer's report covers (None: the whole municipality), or refuse.

    A team lead always gets their own team, whatever was asked; an admin may ask for any team of
    their own municipality, or none.
    """
    if not can_view_report(viewer):
        raise ReportNotAllowed("only team leads and admins see the programme report")
    if viewer.role == Role.TEAM_LEAD:
        return viewer.team_id
    if team_id is None:
        return None
    in_org = session.scalar(select(Team.id).where(
        Team.id == team_id, Team.organisation_id == viewer.organisation_id))
    if in_org is None:
        raise ReportNotAllowed("that team is not in your municipality")
    return team_id


def visible_teams(session: Session, viewer: Viewer) -> list[Team]:
    """Teams to choose from on the report page."""
    if not can_view_report(viewer):
        return []
    q = select(Team).where(Team.organisation_id == viewer.organisation_id)
    if viewer.role == Role.TEAM_LEAD:
        q = q.where(Team.id == viewer.team_id)
    return list(session.scalars(q.order_by(Team.name)))
