"""The alert queue a caseworker works from: whose alerts (mine / my team / all I may see), which
states, a search by tenant name or phone, and the count behind every tab.

Every query starts from the viewer's access filter (`bot.casework.queries`), so a scope or a
search can only narrow what the viewer may see, never widen it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from bot.casework.access import Viewer
from bot.casework.queries import _alert_filter, _tenant_filter, in_queue_order
from bot.core.phones import normalise_phone
from bot.models import Alert, AlertState, Home, Tenant

SCOPES = ("mine", "team", "all")
TABS: dict[str, tuple[str, ...]] = {
    "active": (AlertState.OPEN, AlertState.ACKNOWLEDGED),
    "open": (AlertState.OPEN,),
    "acknowledged": (AlertState.ACKNOWLEDGED,),
    "resolved": (AlertState.RESOLVED,),
}
SEARCH_MAX = 100


@dataclass(frozen=True)
class QueueFilter:
    scope: str = "all"
    tab: str = "active"
    search: str = ""

    @classmethod
    def parse(cls, scope: str | None, tab: str | None, search: str | None) -> QueueFilter:
        """From query-string values; anything unknown falls back to the default."""
        return cls(scope if scope in SCOPES else "all", tab if tab in TABS else "active",
                   (search or "").replace("\x00", "").strip()[:SEARCH_MAX])


def _scope(viewer: Viewer, scope: str) -> ColumnElement[bool]:
    if scope == "mine":
        return Alert.owner_id == viewer.id
    if scope == "team":
        return Alert.team_id == viewer.team_id
    return true()


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search(text: str) -> ColumnElement[bool] | None:
    """Tenant name, phone (as typed or as E.164), or the home's address."""
    if not text:
        return None
    tenants = select(Tenant.id).where(or_(*_tenant_match(text)))
    homes = select(Home.id).where(Home.address.ilike(_like(text), escape="\\"))
    return or_(Alert.tenant_id.in_(tenants), Alert.home_id.in_(homes))


def _tenant_match(text: str) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [Tenant.name.ilike(_like(text), escape="\\")]
    digits = "".join(c for c in text if c.isascii() and c.isdigit())
    if len(digits) >= 3:
        found.append(Tenant.phone.like(_like(digits), escape="\\"))
        # Not a whole phone number: the digits above still match part of one.
        with contextlib.suppress(ValueError):
            found.append(Tenant.phone == normalise_phone(text))
    return found


def alerts(session: Session, viewer: Viewer, f: QueueFilter, limit: int = 500) -> list[Alert]:
    """The tab's alerts: most severe first then nearest deadline; resolved newest first."""
    q = (select(Alert).where(_alert_filter(viewer), _scope(viewer, f.scope),
                             Alert.state.in_(TABS[f.tab]))
         .options(selectinload(Alert.tenant).selectinload(Tenant.caseworker),
                  selectinload(Alert.home), selectinload(Alert.owner),
                  selectinload(Alert.concern)))
    search = _search(f.search)
    if search is not None:
        q = q.where(search)
    return in_queue_order(session, q, resolved=f.tab == "resolved", limit=limit)


def tab_counts(session: Session, viewer: Viewer, f: QueueFilter) -> dict[str, int]:
    """How many alerts each tab would show under the same scope and search."""
    q = (select(Alert.state, func.count()).where(_alert_filter(viewer), _scope(viewer, f.scope))
         .group_by(Alert.state))
    search = _search(f.search)
    if search is not None:
        q = q.where(search)
    per_state = {str(state): int(n) for state, n in session.execute(q)}
    return {tab: sum(per_state.get(str(s), 0) for s in states) for tab, states in TABS.items()}


def search_tenants(session: Session, viewer: Viewer, text: str,
                   limit: int = 200) -> Sequence[Tenant]:
    """Tenants the viewer may see, by name or phone; all of them (by name) for empty text."""
    q = select(Tenant).where(_tenant_filter(viewer), Tenant.erased_at.is_(None)) \
        .options(selectinload(Tenant.home), selectinload(Tenant.caseworker))
    text = text.replace("\x00", "").strip()[:SEARCH_MAX]
    if text:
        q = q.where(or_(*_tenant_match(text)))
    return session.scalars(q.order_by(Tenant.name).limit(limit)).all()
