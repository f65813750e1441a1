"""A caseworker answers the tenant by SMS: STOP, quiet hours, sending once, audit, conversation."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.casework.queries import viewer_for
from bot.casework.tenant_messages import (
    EMPTY,
    STOPPED,
    TOO_LONG,
    UNKNOWN_READY,
    CannotSend,
    compose,
    conversation,
    send_to_tenant,
)
from bot.channels.console import ConsoleChannel
from bot.delivery.dispatcher import Dispatcher
from bot.models import AuditEvent, Direction, Message, OutboxItem, OutboxStatus, utcnow
from tests.support.factories import World

# Copenhagen is UTC+1 in winter: 14:00 UTC is 15:00 local, 22:00 UTC is 23:00 (quiet hours).
DAY = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
NIGHT = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def test_compose_uses_the_caseworkers_words_or_a_ready_answer_in_the_tenants_language(
        session: Session, world: World) -> None:
    assert compose(world.tenant, "  Hej Anna, jeg ringer kl. 14 ", "call_today") == \
        "Hej Anna, jeg ringer kl. 14"
    assert compose(world.tenant, "", "call_today") == "Jeg ringer til dig i dag."
    world.tenant.language = "en"
    assert compose(world.tenant, None, "call_today") == "I will call you today."
    # A curly quote must not turn the SMS into UCS-2 (twice the cost).
    assert compose(world.tenant, "\u201cOK\u201d", None) == '"OK"'


@pytest.mark.parametrize(("text", "ready", "reason"), [
    ("   ", None, EMPTY), ("", "", EMPTY), ("", "no_such_answer", UNKNOWN_READY),
    ("x" * 460, None, TOO_LONG)])
def test_compose_refuses(session: Session, world: World, text: str, ready: str | None,
                         reason: str) -> None:
    with pytest.raises(CannotSend) as refused:
        compose(world.tenant, text, ready)
    assert refused.value.reason == reason


def test_daytime_message_goes_at_once_through_the_outbox_and_is_audited(
        session: Session, world: World) -> None:
    viewer = viewer_for(world.caseworker)
    sent = send_to_tenant(session, viewer, world.tenant, "Jeg ringer i dag.",
                          request_key="k1", via="dashboard", now=DAY)
    session.commit()
    assert not sent.deferred and sent.goes_at == DAY
    row = session.get(OutboxItem, sent.outbox_id)
    assert row is not None
    assert (row.channel, row.recipient, row.kind, row.tenant_id, row.body) == (
        "sms", world.tenant.phone, "caseworker_message", world.tenant.id, "Jeg ringer i dag.")
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "message_tenant"))
    assert (event.actor, event.subject_id) == (f"caseworker:{world.caseworker.id}",
                                               str(world.tenant.id))
    assert event.detail["outbox_id"] == row.id


def test_the_same_request_key_sends_once(session: Session, world: World) -> None:
    viewer = viewer_for(world.caseworker)
    first = send_to_tenant(session, viewer, world.tenant, "Hej", request_key="same",
                           via="dashboard", now=DAY)
    again = send_to_tenant(session, viewer, world.tenant, "Hej", request_key="same",
                           via="dashboard", now=DAY)
    session.commit()
    assert first.outbox_id is not None and again.outbox_id is None
    assert len(session.scalars(select(OutboxItem)).all()) == 1
    assert len(session.scalars(select(AuditEvent).where(
        AuditEvent.action == "message_tenant")).all()) == 1


def test_after_stop_nothing_is_queued(session: Session, world: World) -> None:
    world.tenant.opted_out_at = DAY - timedelta(days=1)
    with pytest.raises(CannotSend) as refused:
        send_to_tenant(session, viewer_for(world.caseworker), world.tenant, "Hej",
                       request_key=None, via="dashboard", now=DAY)
    assert refused.value.reason == STOPPED
    assert session.scalars(select(OutboxItem)).all() == []


def _no_quiet_hours(world: World) -> None:
    world.org.quiet_start = world.org.quiet_end = time(8)  # equal bounds: no quiet hours


def test_stop_between_queueing_and_sending_cancels_it(
        session: Session, world: World, sessions: sessionmaker[Session],
        console_channels: dict[str, ConsoleChannel]) -> None:
    _no_quiet_hours(world)
    sent = send_to_tenant(session, viewer_for(world.caseworker), world.tenant, "Hej",
                          request_key="a", via="dashboard")
    world.tenant.opted_out_at = sent.goes_at
    session.commit()
    Dispatcher(sessions, console_channels).run_once()
    session.expire_all()
    assert session.get(OutboxItem, sent.outbox_id).status == OutboxStatus.CANCELLED
    [line] = conversation(session, world.tenant.id)
    assert (line.direction, line.status) == ("out", "cancelled")


def test_quiet_hours_defer_unless_it_is_a_reply(session: Session, world: World) -> None:
    viewer = viewer_for(world.caseworker)
    late = send_to_tenant(session, viewer, world.tenant, "Hej", request_key="n1",
                          via="dashboard", now=NIGHT)
    assert late.deferred
    assert late.goes_at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 Copenhagen
    assert session.get(OutboxItem, late.outbox_id).next_attempt_at == late.goes_at
    # The tenant wrote an hour ago: the answer is a reply and goes now, even at night.
    session.add(Message(direction=Direction.IN, channel="sms", body="er du der?",
                        tenant_id=world.tenant.id, created_at=NIGHT - timedelta(hours=1)))
    reply = send_to_tenant(session, viewer, world.tenant, "Ja", request_key="n2",
                           via="dashboard", now=NIGHT)
    assert not reply.deferred and reply.goes_at == NIGHT


def test_conversation_both_ways_newest_first_with_delivery_status(
        session: Session, world: World) -> None:
    t = world.tenant.id
    _no_quiet_hours(world)
    now = utcnow()  # the outbox stamps rows with the real clock
    session.add_all([
        Message(direction=Direction.IN, channel="sms", body="3", tenant_id=t,
                created_at=now - timedelta(minutes=30)),
        Message(direction=Direction.OUT, channel="sms", body="Tak", tenant_id=t,
                intent="reply", status="delivered", created_at=now - timedelta(minutes=29)),
        Message(direction=Direction.OUT, channel="telegram", body="not SMS", tenant_id=t,
                created_at=now - timedelta(minutes=1)),
    ])
    send_to_tenant(session, viewer_for(world.caseworker), world.tenant, "Jeg ringer",
                   request_key="c", via="dashboard")
    session.commit()
    lines = conversation(session, t)
    assert [(x.direction, x.body, x.status) for x in lines] == [
        ("out", "Jeg ringer", "pending"), ("out", "Tak", "delivered"), ("in", "3", "received")]
    assert lines[0].kind == "caseworker_message" and lines[0].goes_at is not None
