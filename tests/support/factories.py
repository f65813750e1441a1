"""Builders for a small, consistent world of records in tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from sqlalchemy.orm import Session

from bot.models import (
    Caseworker,
    Consent,
    Home,
    Landlord,
    Organisation,
    Role,
    Team,
    Tenant,
    utcnow,
)


@dataclass
class World:
    org: Organisation
    team: Team
    lead: Caseworker
    caseworker: Caseworker
    colleague: Caseworker
    landlord: Landlord
    other_landlord: Landlord
    home: Home
    other_home: Home
    tenant: Tenant


def make_world(session: Session, *, tenant_language: str = "da") -> World:
    """One municipality, one team (lead + two caseworkers), two landlords, a tenant."""
    org = Organisation(name="Odense Kommune")
    team = Team(organisation=org, name="Housing First Odense")
    lead = Caseworker(team=team, email="lead@odense.example", name="Mette Holm",
                      phone="+4526000101", role=Role.TEAM_LEAD)
    cw = Caseworker(team=team, email="cw@odense.example", name="Jonas Berg",
                    phone="+4526000102", role=Role.CASEWORKER)
    colleague = Caseworker(team=team, email="cw2@odense.example", name="Aisha Khan",
                           phone="+4526000103", role=Role.CASEWORKER)
    landlord = Landlord(email="drift@fynbolig.example", name="Peter Lund",
                        company="Fyn Bolig A/S")
    other = Landlord(email="other@landlord.example", name="Hanne V", company="Other ApS")
    home = Home(reference="FB-1001", address="Vollsmose Allé 12, 2. tv.", postcode="5240",
                city="Odense NØ", landlord=landlord, organisation=org)
    other_home = Home(reference="OE-2001", address="Dalumvej 31", postcode="5250",
                      city="Odense SV", landlord=other, organisation=org)
    tenant = Tenant(organisation=org, name="Anna Sørensen", phone="+4528000301",
                    language=tenant_language, home=home, caseworker=cw, checkin_weekdays="2",
                    checkin_time=time(10), consent=Consent.GIVEN, consent_at=utcnow())
    session.add_all([org, team, lead, cw, colleague, landlord, other, home, other_home, tenant])
    session.commit()
    return World(org, team, lead, cw, colleague, landlord, other, home, other_home, tenant)
