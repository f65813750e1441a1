"""docs/demo.md's table of demo people and its "1 ok" example stay true to the demo data."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.admin.demo_data import CASEWORKERS, LANDLORDS, TENANTS, load_demo_data
from bot.casework.sms_replies import handle_caseworker_sms
from bot.core.phones import display_phone
from bot.models import Alert, Caseworker

DOC = (Path(__file__).resolve().parents[2] / "docs" / "demo.md").read_text(encoding="utf-8")


def _row(name: str) -> str:
    return next(line for line in DOC.splitlines() if line.startswith(f"| {name} |"))


def test_every_demo_person_is_in_the_table_with_login_and_phone() -> None:
    for email, name, phone, _role in CASEWORKERS:
        row = _row(name)
        assert f"`{email}`" in row and display_phone(phone) in row, row
    for _email, name, _company, phone in LANDLORDS:
        assert display_phone(phone) in _row(name)
    for name, phone, lang, home, *_ in TENANTS:
        row = _row(name)
        assert display_phone(phone) in row and home in row and f"({lang})" in row, row


def test_the_reply_code_example_acknowledges_a_demo_alert(session: Session) -> None:
    load_demo_data(session, password="demo")
    session.flush()
    alert = session.get(Alert, 1)
    assert alert is not None and alert.tenant is not None
    assert alert.tenant.name == "Anna Sørensen" and alert.source == "need_help"
    jonas = session.scalar(select(Caseworker).where(Caseworker.name == "Jonas Berg"))
    assert jonas is not None and "Jonas Berg" in DOC and "`1 ok`" in DOC
    handle_caseworker_sms(session, jonas, "1 ok")
    assert alert.state == "acknowledged"
