"""One opt-out rule (bot.core.opt_out) for the conversation and the dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from bot.core.opt_out import ANSWERED_AFTER_STOP, may_send_after_stop
from bot.models.enums import OutboxKind
from bot.tenants.conversation import handle_tenant_sms
from bot.tenants.intents import IntentKind
from tests.support.factories import World

NOW = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)


def test_the_list_names_intents_and_no_queued_kind() -> None:
    assert {k.value for k in IntentKind} >= ANSWERED_AFTER_STOP
    # Nothing the product queues (check-ins, reminders, ...) may reach an opted-out tenant.
    assert not [k for k in OutboxKind if may_send_after_stop(k)]


# One message per intent kind, as an opted-out tenant would write it.
SAMPLES = {IntentKind.CHECKIN_ANSWER: "1", IntentKind.CALL_ME: "ring mig",
           IntentKind.STOP: "stop", IntentKind.START: "start", IntentKind.HELP_INFO: "info",
           IntentKind.CRISIS: "jeg vil slå mig selv ihjel",
           IntentKind.FREE_TEXT: "hvornår kommer du?", IntentKind.EMPTY: "..."}


@pytest.mark.parametrize("kind", list(IntentKind), ids=str)
def test_conversation_answers_an_opted_out_tenant_exactly_by_the_list(
        session: Session, world: World, kind: IntentKind) -> None:
    world.tenant.opted_out_at = NOW
    outcome = handle_tenant_sms(session, world.tenant, SAMPLES[kind], now=NOW)
    assert outcome.intent == kind
    # START ends the opt-out, so it is answered whatever the list says; everything else obeys it.
    answered = outcome.reply is not None
    assert answered == (kind in ANSWERED_AFTER_STOP or kind is IntentKind.START)
