"""The bot's handlers without Telegram: the real Application and database, with the in-process
Bot API stand-in (LocalBotRequest). Covers what telegram-test-api cannot do (users sending
photos or image files), restarts, several processes, and the restart-safe timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import ApplicationBuilder

from bot.alerts.lifecycle import act, raise_alert
from bot.alerts.routing import Delivery
from bot.core.config import Settings
from bot.landlords.flow import Draft, expire_abandoned, submit_concern
from bot.landlords.invites import caseworker_payload, create_caseworker_link, create_invite
from bot.models import Alert, BotState, Concern, Landlord, OutboxItem, utcnow
from bot.telegram_bot import configure
from bot.telegram_bot.local import LocalBotRequest
from tests.support.factories import World, make_world
from tests.support.telegram_updates import callback, message

USER = 4242


class LocalBot:
    """One 'process' of the bot: an Application on the in-process Bot API."""

    def __init__(self, sessions: sessionmaker[Session],
                 clock: Callable[[], datetime] = utcnow, delivery: Delivery | None = None) -> None:
        self.request = LocalBotRequest()
        builder = ApplicationBuilder().token("1:local").request(self.request) \
            .get_updates_request(LocalBotRequest())
        self.app = configure(builder, sessions, clock, delivery)

    async def __aenter__(self) -> LocalBot:
        await self.app.initialize()
        await self.app.start()  # the JobQueue, for the in-memory conversation timeout
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.stop()
        await self.app.shutdown()

    async def send(self, update: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        start = len(self.request.calls)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return self.request.calls[start:]


def texts(calls: list[tuple[str, dict[str, Any]]], method: str = "sendMessage") -> list[str]:
    return [p.get("text", "") for m, p in calls if m == method]


def buttons(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [b["callback_data"] for m, p in calls if m == "sendMessage"
            for row in (p.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def _world(session: Session) -> tuple[World, str]:
    w = make_world(session)
    token = create_invite(session, w.landlord)
    session.commit()
    return w, token


async def _to_description(bot: LocalBot, w: World, token: str) -> None:
    await bot.send(message(USER, f"/start {token}"))
    calls = await bot.send(message(USER, "/concern"))
    assert buttons(calls) == [f"c:home:{w.home.id}", "c:cancel"]
    await bot.send(callback(USER, f"c:home:{w.home.id}", text="Hvilken bolig?"))
    await bot.send(callback(USER, "c:cat:damage"))
    calls = await bot.send(callback(USER, "c:urg:this_week"))
    assert "Beskriv kort" in texts(calls)[0]


def test_full_flow_with_photo(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            calls = await bot.send(message(USER, f"/start {token}"))
            assert texts(calls)[0].startswith("Velkommen, Peter Lund")
            keyboard = calls[0][1]["reply_markup"]["keyboard"]
            assert keyboard[0][0]["text"] == "Ny henvendelse"
            # The persistent keyboard button starts the same conversation as /concern.
            calls = await bot.send(message(USER, "Ny henvendelse"))
            assert texts(calls) == ["Hvilken bolig drejer det sig om?"]
            calls = await bot.send(callback(USER, f"c:home:{w.home.id}", text="Hvilken bolig?"))
            edits = texts(calls, "editMessageText")
            assert edits == ["Hvilken bolig?\n✓ Vollsmose Allé 12, 2. tv."]
            assert len(buttons(calls)) == 7  # six categories and Cancel
            await bot.send(callback(USER, "c:cat:damage"))
            await bot.send(callback(USER, "c:urg:this_week"))
            calls = await bot.send(message(USER, "Vandskade i badeværelset"))
            assert buttons(calls) == ["c:skip", "c:cancel"]
            calls = await bot.send(message(USER, photo="PHOTO-big"))
            summary = texts(calls)[0]
            assert "Skader eller hygiejne" in summary and "Billede: Ja" in summary
            assert buttons(calls) == ["c:confirm", "c:edit", "c:cancel"]
            calls = await bot.send(callback(USER, "c:confirm"))
            assert "TH-" in texts(calls)[0]

    asyncio.run(scenario())
    with sessions() as session:
        concern = session.scalar(select(Concern))
        assert concern is not None and concern.photo_file_id == "PHOTO-big"  # the largest size
        assert (concern.category, concern.urgency) == ("damage", "this_week")
        assert concern.description == "Vandskade i badeværelset"
        assert session.scalar(select(Alert).where(Alert.concern_id == concern.id)) is not None
        # The finished conversation and its draft leave nothing behind.
        assert session.scalar(select(func.count()).select_from(BotState).where(
            BotState.namespace == "conversation:concern")) == 0


def test_image_sent_as_file_and_text_instead_of_photo(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            await _to_description(bot, w, token)
            await bot.send(message(USER, "Skimmel på væggen"))
            calls = await bot.send(message(USER, "her er ikke noget billede"))
            assert texts(calls) == [
                "Send et billede, eller tryk Spring over for at fortsætte uden."]
            update = message(USER)
            update["message"]["document"] = {"file_id": "DOC-IMG", "file_unique_id": "d",
                                             "mime_type": "image/jpeg", "file_name": "a.jpg"}
            calls = await bot.send(update)
            assert "Billede: Ja" in texts(calls)[0]
            await bot.send(callback(USER, "c:confirm"))

    asyncio.run(scenario())
    with sessions() as session:
        assert session.scalar(select(Concern.photo_file_id)) == "DOC-IMG"


def test_skip_photo_edit_and_forged_home(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            await bot.send(message(USER, f"/start {token}"))
            await bot.send(message(USER, "/concern"))
            calls = await bot.send(callback(USER, f"c:home:{w.other_home.id}"))
            [(_, answer)] = [c for c in calls if c[0] == "answerCallbackQuery"]
            assert answer["text"].startswith("Den bolig er ikke en af dine") and answer[
                "show_alert"]
            assert buttons(calls) == [f"c:home:{w.home.id}", "c:cancel"]  # only their own again
            assert "Dalumvej" not in str(calls)
            calls = await bot.send(message(USER, "den på Vollsmose"))  # typed, not pressed
            assert texts(calls) == [
                "Vælg med knapperne ovenfor, eller skriv /cancel for at stoppe."]
            await bot.send(callback(USER, f"c:home:{w.home.id}"))
            await bot.send(callback(USER, "c:cat:gossip"))  # not a category: refused
            await bot.send(callback(USER, "c:cat:noise"))
            await bot.send(callback(USER, "c:urg:can_wait"))
            await bot.send(message(USER, "Larm"))
            calls = await bot.send(callback(USER, "c:skip"))
            assert "Billede: Nej" in texts(calls)[0]
            calls = await bot.send(callback(USER, "c:edit"))
            assert buttons(calls)[0] == f"c:home:{w.home.id}"
            await bot.send(callback(USER, f"c:home:{w.home.id}"))
            await bot.send(callback(USER, "c:cat:arrears"))
            await bot.send(callback(USER, "c:urg:urgent_today"))
            await bot.send(message(USER, "Husleje mangler"))
            await bot.send(callback(USER, "c:skip"))
            # A press on a button from an earlier step is answered, not acted on.
            calls = await bot.send(callback(USER, f"c:home:{w.other_home.id}"))
            assert texts(calls, "answerCallbackQuery") == ["Denne knap er ikke længere aktiv."]
            await bot.send(callback(USER, "c:confirm"))

    asyncio.run(scenario())
    with sessions() as session:
        concerns = list(session.scalars(select(Concern)))
        assert [(c.home_id, c.category, c.photo_file_id) for c in concerns] == [
            (w.home.id, "arrears", None)]


class _Levels:
    """Stands in for a module's logger: (level, event) of every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, *_a, **_kw: self.calls.append((level, event))


def test_a_database_error_at_submit_says_not_saved_and_keeps_the_draft(
        sessions: sessionmaker[Session], engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The database fails as the concern is saved: the pressed button does not turn into
    "✓ Bekræft", the landlord reads that nothing was saved and can press Bekræft again on the
    same draft, and the failure is logged as an error. The second press saves it."""
    from bot.telegram_bot import landlord

    with sessions() as session:
        w, token = _world(session)
    logged = _Levels()
    monkeypatch.setattr(landlord, "log", logged)
    failures = [OperationalError("INSERT INTO concerns", {}, Exception("connection lost"))]

    def fail_once(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CONCERNS") and failures:
            raise failures.pop()

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            await _to_description(bot, w, token)
            await bot.send(message(USER, "Vandskade i badeværelset"))
            await bot.send(callback(USER, "c:skip"))
            event.listen(engine, "before_cursor_execute", fail_once)
            try:
                calls = await bot.send(callback(USER, "c:confirm", text="Opsummering"))
            finally:
                event.remove(engine, "before_cursor_execute", fail_once)
            assert not failures  # the database did fail
            assert not any("✓" in text for text in texts(calls, "editMessageText"))
            [said] = texts(calls)
            assert "IKKE gemt" in said and "tryk Bekræft" in said and "112" in said
            assert buttons(calls) == ["c:confirm", "c:edit", "c:cancel"]
            assert ("error", "telegram.concern_not_saved") in logged.calls
            calls = await bot.send(callback(USER, "c:confirm", text="Beklager"))
            assert "TH-" in texts(calls)[0]
            assert texts(calls, "editMessageText") == ["Beklager\n✓ Bekræft"]

    asyncio.run(scenario())
    with sessions() as session:
        [concern] = session.scalars(select(Concern)).all()
        assert concern.description == "Vandskade i badeværelset"


def test_a_press_telegram_refuses_after_the_save_still_gets_the_receipt_and_files_once(
        sessions: sessionmaker[Session]) -> None:
    """The concern is saved, then Telegram refuses to answer the press ("query is too old",
    as after a slow save): the landlord still gets the receipt, the draft is gone, and a second
    press of the old Confirm files nothing more."""
    from telegram.error import BadRequest

    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            await _to_description(bot, w, token)
            await bot.send(message(USER, "Vandskade i badeværelset"))
            await bot.send(callback(USER, "c:skip"))
            sent, refused = bot.request.do_request, [True]

            async def too_old(url: str, method: str, *args: Any, **kwargs: Any) -> Any:
                if url.rsplit("/", 1)[-1].lower() == "answercallbackquery" and refused:
                    refused.pop()
                    raise BadRequest("Query is too old and response timeout expired")
                return await sent(url, method, *args, **kwargs)

            bot.request.do_request = too_old  # type: ignore[method-assign]
            calls = await bot.send(callback(USER, "c:confirm", text="Opsummering"))
            assert not refused and "TH-" in texts(calls)[0]
            await bot.send(callback(USER, "c:confirm", text="Opsummering"))

    asyncio.run(scenario())
    with sessions() as session:
        assert len(session.scalars(select(Concern)).all()) == 1

def test_cancel_by_command_and_by_button(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            await _to_description(bot, w, token)
            calls = await bot.send(message(USER, "/cancel"))
            assert texts(calls) == ["Annulleret. Intet er sendt. Skriv /concern for at starte "
                                    "forfra."]
            calls = await bot.send(message(USER, "Vandskade"))  # no conversation any more
            assert not any("Billede" in t or "billede" in t for t in texts(calls))
            await bot.send(message(USER, "/concern"))
            calls = await bot.send(callback(USER, "c:cancel"))
            assert texts(calls)[0].startswith("Annulleret")

    asyncio.run(scenario())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 0
        assert session.scalar(select(func.count()).select_from(BotState).where(
            BotState.namespace == "conversation:concern")) == 0


def test_unlinked_user_gets_only_an_explanation(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            for text in ("/start", "/concern", "/mine", "/help", "/language", "Ny henvendelse"):
                calls = await bot.send(message(777, text))
                assert texts(calls) == [
                    "Denne bot er for udlejere og sagsbehandlere, der arbejder med Trygt Hjem. "
                    "Åbn invitationslinket, du har fået fra kommunen, for at bruge den."], text
            calls = await bot.send(message(777, "/start forkert-token", language_code="en"))
            assert texts(calls)[0].startswith("This invitation link is not valid")

    asyncio.run(scenario())


def test_restart_in_the_middle_of_a_conversation(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)

    async def first_process() -> None:
        async with LocalBot(sessions) as bot:
            await _to_description(bot, w, token)

    async def after_restart() -> None:
        async with LocalBot(sessions) as bot:  # a new Application: nothing in memory
            calls = await bot.send(message(USER, "Vandskade i køkkenet"))
            assert buttons(calls) == ["c:skip", "c:cancel"]
            await bot.send(callback(USER, "c:skip"))
            calls = await bot.send(callback(USER, "c:confirm"))
            assert "TH-" in texts(calls)[0]

    asyncio.run(first_process())
    asyncio.run(after_restart())
    with sessions() as session:
        concern = session.scalar(select(Concern))
        assert concern is not None and concern.category == "damage"
        assert concern.description == "Vandskade i køkkenet"


def test_two_processes_share_one_conversation(sessions: sessionmaker[Session]) -> None:
    """Webhook updates of one chat may reach different web processes in turn."""
    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as a, LocalBot(sessions) as b:
            await a.send(message(USER, f"/start {token}"))
            await b.send(message(USER, "/concern"))
            await a.send(callback(USER, f"c:home:{w.home.id}"))
            await b.send(callback(USER, "c:cat:noise"))
            await a.send(callback(USER, "c:urg:this_week"))
            await b.send(message(USER, "Larm hver nat"))
            await a.send(callback(USER, "c:skip"))
            calls = await b.send(callback(USER, "c:confirm"))
            assert "TH-" in texts(calls)[0]
            # Process a still thinks nothing: it must not offer a second confirm.
            calls = await a.send(callback(USER, "c:confirm"))
            assert texts(calls, "answerCallbackQuery") == ["Denne knap er ikke længere aktiv."]

    asyncio.run(scenario())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 1


def test_abandoned_report_times_out_even_after_restart(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)
    clock = {"now": utcnow()}

    async def scenario() -> None:
        async with LocalBot(sessions, lambda: clock["now"]) as bot:
            await _to_description(bot, w, token)
        clock["now"] += timedelta(minutes=31)
        async with LocalBot(sessions, lambda: clock["now"]) as bot:
            calls = await bot.send(message(USER, "Vandskade"))
            assert texts(calls) == [
                "Din ufærdige henvendelse blev lukket, fordi der ikke kom svar i et stykke tid. "
                "Intet er sendt. Skriv /concern for at starte forfra."]
            calls = await bot.send(callback(USER, "c:confirm"))
            assert texts(calls, "answerCallbackQuery") == ["Denne knap er ikke længere aktiv."]

    asyncio.run(scenario())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 0


def test_mine_language_and_help(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            await bot.send(message(USER, f"/start {token}"))
            calls = await bot.send(message(USER, "/mine"))
            assert texts(calls) == ["Du har ingen åbne eller nylige henvendelser."]
            with sessions() as session:
                landlord = session.get(Landlord, w.landlord.id)
                assert landlord is not None
                concern = submit_concern(session, landlord, Draft(
                    home_id=w.home.id, category="wellbeing", urgency="this_week",
                    description="Har ikke set lejeren"))
                session.commit()
                reference = concern.reference
            calls = await bot.send(message(USER, "Mine henvendelser"))
            [text] = texts(calls)
            assert reference in text and "Bekymret for trivsel" in text
            assert "Status: Modtaget" in text
            # Never the tenant's name or the landlord's own free text in the overview.
            assert "Anna" not in text and "Har ikke set" not in text
            calls = await bot.send(message(USER, "/language"))
            assert buttons(calls) == ["lang:da", "lang:en"]
            calls = await bot.send(callback(USER, "lang:en"))
            assert texts(calls, "editMessageText") == ["I will write in English from now on."]
            assert texts(calls)[0].startswith("Trygt Hjem helps you")
            keyboard = calls[-1][1]["reply_markup"]["keyboard"]
            assert keyboard[0][0]["text"] == "New concern"
            calls = await bot.send(message(USER, "/mine"))
            assert "Status: Received" in texts(calls)[0]
            # The Danish button still works after switching to English.
            calls = await bot.send(message(USER, "Ny henvendelse"))
            assert texts(calls) == ["Which home is it about?"]

    asyncio.run(scenario())
    with sessions() as session:
        assert session.get(Landlord, w.landlord.id).language == "en"  # type: ignore[union-attr]


def test_caseworker_links_and_acts_on_alert_buttons(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w = make_world(session)
        code = create_caseworker_link(session, w.caseworker)
        concern = submit_concern(session, w.landlord, Draft(
            home_id=w.home.id, category="noise", urgency="this_week", description="Larm"))
        session.commit()
        alert_id = session.scalar(select(Alert.id).where(Alert.concern_id == concern.id))
    cw_chat = 31337
    markup = {"inline_keyboard": [[{"text": "Kvittér", "callback_data": f"alert:{alert_id}:ack"},
                                   {"text": "Løst",
                                    "callback_data": f"alert:{alert_id}:resolve"}]]}

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            calls = await bot.send(message(cw_chat, "/start cw-wrong"))
            assert texts(calls)[0].startswith("Denne kode er ikke gyldig")
            # An unlinked chat pressing a forwarded alert button is refused.
            calls = await bot.send(callback(cw_chat, f"alert:{alert_id}:ack", text="Alarm",
                                            reply_markup=markup))
            assert texts(calls, "answerCallbackQuery") == [
                "Du kan ikke handle på denne alarm fra denne chat."]
            calls = await bot.send(message(cw_chat, f"/start {caseworker_payload(code)}"))
            assert texts(calls)[0].startswith("Hej Jonas Berg. Din Telegram er nu forbundet")
            calls = await bot.send(callback(cw_chat, f"alert:{alert_id}:ack", text="Alarm 1",
                                            reply_markup=markup))
            [(_, edit)] = [c for c in calls if c[0] == "editMessageText"]
            assert edit["text"] == "Alarm 1\n\n✓ Kvitteret af Jonas Berg."
            assert [b["callback_data"] for b in edit["reply_markup"]["inline_keyboard"][0]] == [
                f"alert:{alert_id}:resolve"]
            calls = await bot.send(callback(cw_chat, f"alert:{alert_id}:resolve", text="Alarm 1"))
            [(_, edit)] = [c for c in calls if c[0] == "editMessageText"]
            assert edit["text"].endswith("✓ Løst af Jonas Berg.") and "reply_markup" not in edit
            calls = await bot.send(callback(cw_chat, f"alert:{alert_id}:ack", text="Alarm 1"))
            assert texts(calls, "answerCallbackQuery") == ["Allerede gjort."]

    asyncio.run(scenario())
    with sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None and alert.state == "resolved"
        assert alert.resolved_by_id == w.caseworker.id
        assert session.get(Concern, concern.id).status == "resolved"  # type: ignore[union-attr]


def test_a_button_from_an_earlier_escalation_says_the_case_has_news(
        sessions: sessionmaker[Session], settings: Settings) -> None:
    """Last week's message's buttons act on nothing once a new cry has reopened the case: a
    pop-up says so, and the old message loses its buttons (they never work again) and says
    where to act instead, with the dashboard's link."""
    cw_chat = 31337
    with sessions() as session:
        w = make_world(session)
        w.caseworker.telegram_chat_id = cw_chat
        alert, _ = raise_alert(session, source="need_help", summary="3", tenant=w.tenant)
        act(session, alert, "acknowledge", actor=w.caseworker, via="telegram")
        raise_alert(session, source="crisis", summary="x", tenant=w.tenant)  # the same case
        session.commit()
        alert_id = alert.id
    markup = {"inline_keyboard": [[{"text": "Løst",
                                    "callback_data": f"alert:{alert_id}:e0:resolve"}]]}

    async def scenario() -> None:
        async with LocalBot(sessions, delivery=Delivery(settings)) as bot:
            calls = await bot.send(callback(cw_chat, f"alert:{alert_id}:e0:resolve",
                                            text="Alarm 1", reply_markup=markup))
            [(_, answer)] = [c for c in calls if c[0] == "answerCallbackQuery"]
            assert (answer["text"], answer["show_alert"]) == (
                "Sagen har fået nyt siden denne besked, så intet er ændret. Brug knapperne "
                "under den nyeste besked, eller åbn sagen i oversigten.", True)
            [(_, edit)] = [c for c in calls if c[0] == "editMessageText"]
            assert edit["text"] == (
                "Alarm 1\n\n⚠ Sagen har fået nyt siden denne besked. Brug knapperne under den "
                f"nyeste besked, eller åbn sagen: https://trygthjem.test/dashboard/alerts/{alert_id}")
            assert "reply_markup" not in edit

    asyncio.run(scenario())
    with sessions() as session:
        assert session.get(Alert, alert_id).state == "open"  # type: ignore[union-attr]


def test_worker_ends_abandoned_reports_politely(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)
    clock = {"now": utcnow()}

    async def start_report() -> None:
        async with LocalBot(sessions, lambda: clock["now"]) as bot:
            await _to_description(bot, w, token)

    asyncio.run(start_report())
    with sessions() as session:
        assert expire_abandoned(session, clock["now"] + timedelta(minutes=29)) == 0
        assert expire_abandoned(session, clock["now"] + timedelta(minutes=31)) == 1
        session.commit()
        [row] = session.scalars(select(OutboxItem))
        assert (row.channel, row.recipient, row.kind) == ("telegram", str(USER),
                                                          "concern_timeout")
        assert row.body.startswith("Din ufærdige henvendelse blev lukket")
        assert expire_abandoned(session, clock["now"] + timedelta(hours=2)) == 0

    async def later() -> None:
        async with LocalBot(sessions, lambda: clock["now"]) as bot:
            # The report is over in every process: text is no longer taken as a description.
            calls = await bot.send(message(USER, "Vandskade"))
            assert not any("billede" in t for t in texts(calls))

    asyncio.run(later())


def test_production_builder_uses_telegram_api_url(sessions: sessionmaker[Session]) -> None:
    from bot.telegram_bot import build_application

    default = build_application(sessions, "1:x")
    assert default.bot.base_url == "https://api.telegram.org/bot1:x"
    rebased = build_application(sessions, "1:x", "http://127.0.0.1:8081/")
    assert rebased.bot.base_url == "http://127.0.0.1:8081/bot1:x"
    assert rebased.bot.base_file_url == "http://127.0.0.1:8081/file/bot1:x"
    assert rebased.persistence is not None


def test_writing_again_after_a_block_reactivates_the_chat(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w = make_world(session)
        w.landlord.telegram_user_id = USER
        w.landlord.telegram_chat_id = 1  # an old chat
        w.landlord.telegram_active = False  # Telegram said 403 earlier
        session.commit()

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            calls = await bot.send(message(USER, "/help"))
            assert texts(calls)[0].startswith("Med Trygt Hjem kan du")

    asyncio.run(scenario())
    with sessions() as session:
        landlord = session.get(Landlord, w.landlord.id)
        assert landlord is not None and landlord.telegram_active
        assert landlord.telegram_chat_id == USER


def test_free_text_outside_a_report_gets_what_the_bot_can_do(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            await bot.send(message(USER, f"/start {token}"))
            for text in ("hej, er der nogen?", "/ukendt"):
                calls = await bot.send(message(USER, text))
                [answer] = texts(calls)
                assert answer.startswith("Hej! Jeg er Trygt Hjems bot"), text
                assert "/concern" in answer and "/mine" in answer and "112" in answer
                keyboard = calls[0][1]["reply_markup"]["keyboard"]
                assert keyboard[0][0]["text"] == "Ny henvendelse"
            # Inside a report the same words still get the report's own answer.
            await bot.send(message(USER, "/concern"))
            await bot.send(callback(USER, f"c:home:{w.home.id}"))
            calls = await bot.send(message(USER, "hej, er der nogen?"))
            assert texts(calls) == ["Vælg med knapperne ovenfor, eller skriv /cancel for at "
                                    "stoppe."]
            # Someone not linked is told what the bot is for.
            calls = await bot.send(message(777, "hallo?"))
            assert texts(calls)[0].startswith("Denne bot er for udlejere")

    asyncio.run(scenario())


def test_no_sign_of_life_is_urgent_and_says_112_before_the_other_steps(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w, token = _world(session)

    async def scenario() -> None:
        async with LocalBot(sessions) as bot:
            await bot.send(message(USER, f"/start {token}"))
            await bot.send(message(USER, "/concern"))
            await bot.send(callback(USER, f"c:home:{w.home.id}"))
            calls = await bot.send(callback(USER, "c:cat:no_sign_of_life"))
            sent = texts(calls)
            assert sent[0].startswith("Frygter du for lejerens liv, så ring 112 nu.")
            assert sent[1].startswith("Beskriv kort")
            assert not [b for b in buttons(calls) if b.startswith("c:urg:")]  # no "Kan vente"
            await bot.send(message(USER, "Postkassen er fuld, ingen har set ham i en uge"))
            calls = await bot.send(callback(USER, "c:skip"))
            assert "Haster, i dag" in texts(calls)[0]  # the summary shows it as urgent
            calls = await bot.send(callback(USER, "c:confirm"))
            assert "har fået besked nu" in texts(calls)[0]

    asyncio.run(scenario())
    with sessions() as session:
        concern = session.scalar(select(Concern))
        assert concern is not None
        assert (concern.category, concern.urgency) == ("no_sign_of_life", "urgent_today")
        alert = session.scalar(select(Alert).where(Alert.concern_id == concern.id))
        assert alert is not None and alert.severity == "critical"
