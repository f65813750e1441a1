"""Helpers for dashboard and API tests: accounts with passwords, logging in, forms."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from bot.casework.passwords import set_password
from bot.models import Caseworker, Role, Team
from tests.support.factories import World

PASSWORD = "correct horse battery"


def with_passwords(session: Session, world: World) -> World:
    for cw in (world.lead, world.caseworker, world.colleague):
        set_password(cw, PASSWORD)
    session.commit()
    return world


def other_team(session: Session, world: World) -> tuple[Team, Caseworker]:
    team = Team(organisation=world.org, name="Housing First Odense Syd")
    cw = Caseworker(team=team, email="syd@odense.example", name="Lars Syd", phone="+4526000109",
                    role=Role.CASEWORKER)
    set_password(cw, PASSWORD)
    session.add_all([team, cw])
    session.commit()
    return team, cw


def admin(session: Session, world: World) -> Caseworker:
    cw = Caseworker(team=world.team, email="admin@odense.example", name="Karen Dahl",
                    phone="+4526000108", role=Role.ADMIN)
    set_password(cw, PASSWORD)
    session.add(cw)
    session.commit()
    return cw


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client: Any, email: str, password: str = PASSWORD) -> Any:
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    return client.post("/dashboard/login",
                       data={"email": email, "password": password, "csrf_token": token})
