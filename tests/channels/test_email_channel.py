"""E-mail alerts end to end: escalator -> outbox -> Dispatcher -> EmailChannel -> a real SMTP
server (aiosmtpd on a free local port)."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.alerts.policies import save_policy
from bot.alerts.timetable import Policy, Step
from bot.channels.base import OutgoingMessage, PermanentError, TransientError
from bot.channels.email import EmailChannel
from bot.core.config import Settings, SmtpSettings
from bot.delivery.dispatcher import Dispatcher
from bot.models import OutboxItem, OutboxStatus
from tests.support.factories import make_world

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


class Recorder:
    """aiosmtpd handler: keeps every accepted message; refuses RCPT to `refuse@...`."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address.startswith("refuse@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, SmtpSettings]]:
    recorder = Recorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, SmtpSettings(host="127.0.0.1", port=port, sender="alarm@trygthjem.test")
    finally:
        controller.stop()


def test_alert_email_arrives_with_plain_and_html_parts(
        sessions: sessionmaker[Session], session: Session, settings: Settings,
        smtp_server: tuple[Recorder, SmtpSettings]) -> None:
    recorder, smtp = smtp_server
    w = make_world(session)
    save_policy(session, w.team.id, "critical", Policy(
        steps=(Step(0, "assigned", ("email",)),), repeat=0,  # type: ignore[arg-type]
        working_hours_only=False))
    alert, _ = raise_alert(session, source="crisis", summary="x", tenant=w.tenant, now=T0)
    session.commit()
    run_escalation(sessions, settings, now=T0)

    stats = Dispatcher(sessions, {"email": EmailChannel(smtp)}).run_once()
    # An e-mail does not count as telling a person about a critical alert (docs/routing.md),
    # so the fallback went out too: the team lead's e-mail is the second one.
    assert stats.sent == 2
    by_rcpt = {tuple(rcpts): mail for rcpts, mail in recorder.messages}
    assert set(by_rcpt) == {(w.caseworker.email,), (w.lead.email,)}
    mail = by_rcpt[(w.caseworker.email,)]
    assert mail["From"] == "alarm@trygthjem.test" and mail["To"] == w.caseworker.email
    assert mail["Subject"] == (f"Trygt Hjem #{alert.id} KRITISK: Anna (Vollsmose) har brug for "
                               "kontakt nu.")
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    link = f"https://trygthjem.test/dashboard/alerts/{alert.id}"
    assert link in plain.get_content() and f'href="{link}"' in rich.get_content()
    assert f"Svar {alert.id} OK" in plain.get_content()
    row = session.scalar(select(OutboxItem).where(OutboxItem.channel == "email",
                                                  OutboxItem.recipient == w.caseworker.email))
    assert row is not None and row.status == OutboxStatus.SENT and row.provider_id


def test_refused_recipient_is_permanent(smtp_server: tuple[Recorder, SmtpSettings]) -> None:
    _, smtp = smtp_server
    with pytest.raises(PermanentError) as err:
        EmailChannel(smtp).send(OutgoingMessage("refuse@odense.example", "hi", "k1",
                                                {"subject": "s", "html": "<p>hi</p>"}))
    assert err.value.code == "550"


def test_unreachable_server_is_transient() -> None:
    smtp = SmtpSettings(host="127.0.0.1", port=_free_port())  # nobody listens there
    with pytest.raises(TransientError):
        EmailChannel(smtp, timeout=2).send(OutgoingMessage("a@b.example", "hi", "k2"))
