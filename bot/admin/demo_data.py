"""A small, realistic Odense data set: the programme's first five homes (people are fictional)."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.passwords import set_password
from bot.core.config import Settings
from bot.core.organisations import new_organisation
from bot.models import Caseworker, Consent, Home, Landlord, Organisation, Role, Team, Tenant, utcnow
from bot.models.enums import Severity, Source

ORGANISATION = "Odense Kommune"
TEAM = "Housing First Odense"

CASEWORKERS = [
    # email, name, phone, role
    ("mette.holm@odense.example", "Mette Holm", "+4526000101", Role.TEAM_LEAD),
    ("jonas.berg@odense.example", "Jonas Berg", "+4526000102", Role.CASEWORKER),
    ("aisha.khan@odense.example", "Aisha Khan", "+4526000103", Role.CASEWORKER),
    ("karen.dahl@odense.example", "Karen Dahl", "+4526000104", Role.ADMIN),
]
LANDLORDS = [
    ("drift@fynbolig.example", "Peter Lund", "Fyn Bolig A/S", "+4526000201"),
    ("udlejning@odenseejendomme.example", "Hanne Vestergaard", "Odense Ejendomme ApS",
     "+4526000202"),
]
HOMES = [
    # reference, address, postcode, city, landlord email
    ("FB-1001", "Vollsmose Allé 12, 2. tv.", "5240", "Odense NØ", "drift@fynbolig.example"),
    ("FB-1002", "Bolbro Bygade 7, st. th.", "5200", "Odense V", "drift@fynbolig.example"),
    ("FB-1003", "Tarupvej 88, 1. mf.", "5210", "Odense NV", "drift@fynbolig.example"),
    ("OE-2001", "Dalumvej 31, 3. tv.", "5250", "Odense SV",
     "udlejning@odenseejendomme.example"),
    ("OE-2002", "Hunderupvej 140, 1. th.", "5230", "Odense M",
     "udlejning@odenseejendomme.example"),
]
TENANTS = [
    # name, phone, language, home, caseworker email, weekdays, time
    ("Anna Sørensen", "+4528000301", "da", "FB-1001", "jonas.berg@odense.example", "2", time(10)),
    ("Bo Christiansen", "+4528000302", "da", "FB-1002", "jonas.berg@odense.example", "4",
     time(11)),
    ("Kasper Møller", "+4528000303", "da", "FB-1003", "aisha.khan@odense.example", "1,4",
     time(9, 30)),
    ("Dorthe Andersen", "+4528000304", "da", "OE-2001", "aisha.khan@odense.example", "3",
     time(14)),
    ("Tomasz Nowak", "+4528000305", "en", "OE-2002", "jonas.berg@odense.example", "5",
     time(10)),
]


def load_demo_data(session: Session, *, password: str | None = None,
                   settings: Settings | None = None) -> bool:
    """Create the demo data once; returns False (and changes nothing else) when it is there.

    `password` (only `trygthjem demo` passes one) is given to every demo caseworker that has
    none yet, so the dashboard can be tried; real caseworkers get theirs with
    `trygthjem caseworker set-password`.
    """
    if session.scalar(select(Organisation).where(Organisation.name == ORGANISATION)):
        if password:
            _demo_passwords(session, password)
        return False
    org = new_organisation(ORGANISATION, settings)
    team = Team(organisation=org, name=TEAM)
    session.add_all([org, team])
    workers = {e: Caseworker(team=team, email=e, name=n, phone=p, role=r)
               for e, n, p, r in CASEWORKERS}
    landlords = {e: Landlord(email=e, name=n, company=c, phone=p) for e, n, c, p in LANDLORDS}
    homes = {ref: Home(reference=ref, address=a, postcode=pc, city=c, landlord=landlords[ll],
                      organisation=org)
             for ref, a, pc, c, ll in HOMES}
    session.add_all([*workers.values(), *landlords.values(), *homes.values()])
    now = utcnow()
    for name, phone, lang, home, cw, days, at in TENANTS:
        session.add(Tenant(organisation=org, name=name, phone=phone, language=lang,
                           home=homes[home], caseworker=workers[cw], checkin_weekdays=days,
                           checkin_time=at, consent=Consent.GIVEN, consent_at=now))
    session.flush()
    if password:
        _demo_passwords(session, password)
    _demo_alerts(session)
    return True


def _demo_passwords(session: Session, password: str) -> None:
    for cw in session.scalars(select(Caseworker).where(
            Caseworker.email.in_([e for e, *_ in CASEWORKERS]),
            Caseworker.password_hash.is_(None))):
        set_password(cw, password, min_length=1)


def _demo_alerts(session: Session) -> None:
    """A few alerts so the dashboard's queue has something to show."""
    from bot.alerts.lifecycle import raise_alert

    by_phone = {t.phone: t for t in session.scalars(select(Tenant))}
    raise_alert(session, source=Source.NEED_HELP, summary="Anna Sørensen svarede 3 på check-in",
                tenant=by_phone["+4528000301"])
    raise_alert(session, source=Source.MISSED, summary="Kasper Møller har ikke svaret 2 gange",
                tenant=by_phone["+4528000303"], severity=Severity.LOW)
    raise_alert(session, source=Source.CRISIS, summary="Bo Christiansen skrev et krise-ord",
                tenant=by_phone["+4528000302"])
