from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import CheckIn, Message, OutboxItem, Tenant
from tests.support.factories import make_world


def test_world_round_trips(session: Session) -> None:
    w = make_world(session)
    session.expunge_all()
    tenant = session.scalars(select(Tenant)).one()
    assert tenant.home is not None and tenant.home.landlord.company == "Fyn Bolig A/S"
    assert tenant.caseworker is not None and tenant.caseworker.team.organisation.name == w.org.name
    assert tenant.created_at.tzinfo is not None
    assert not tenant.opted_out


def test_one_tenant_per_phone(session: Session) -> None:
    w = make_world(session)
    session.add(Tenant(organisation=w.org, name="Twin", phone=w.tenant.phone))
    with pytest.raises(IntegrityError):
        session.commit()


def test_provider_message_id_is_unique_per_channel(session: Session) -> None:
    session.add(Message(direction="in", channel="sms", provider_id="SM1"))
    session.add(Message(direction="in", channel="telegram", provider_id="SM1"))
    session.commit()
    session.add(Message(direction="in", channel="sms", provider_id="SM1"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_one_checkin_per_tenant_and_slot(session: Session) -> None:
    w = make_world(session)
    slot = datetime(2026, 12, 1, 9, tzinfo=UTC)
    session.add(CheckIn(tenant=w.tenant, slot_at=slot))
    session.commit()
    session.add(CheckIn(tenant=w.tenant, slot_at=slot))
    with pytest.raises(IntegrityError):
        session.commit()


def test_datetimes_come_back_as_aware_utc(session: Session) -> None:
    w = make_world(session)
    local = datetime(2026, 12, 1, 10, tzinfo=timezone(timedelta(hours=1)))
    session.add(CheckIn(tenant=w.tenant, slot_at=local))
    session.commit()
    session.expunge_all()
    got = session.scalars(select(CheckIn)).one().slot_at
    assert got == local and got.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session: Session) -> None:
    session.add(OutboxItem(idempotency_key="k", channel="sms", recipient="+4522000301",
                           next_attempt_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        session.commit()


def test_outbound_provider_ids_may_repeat(session: Session) -> None:
    """Telegram message ids are per chat; the dispatcher must be able to log both sends."""
    session.add(Message(direction="out", channel="telegram", provider_id="5", recipient="1"))
    session.add(Message(direction="out", channel="telegram", provider_id="5", recipient="2"))
    session.add(Message(direction="in", channel="telegram", provider_id="5"))
    session.commit()
    assert len(session.scalars(select(Message)).all()) == 3
