from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.admin.importer import ImportFileError, import_csv
from bot.models import AuditEvent, Caseworker, Home, Landlord, Organisation, Team, Tenant


def _load_all(session: Session, data_dir: Path) -> None:
    for kind in ("caseworkers", "landlords", "homes"):
        report = import_csv(session, kind, data_dir / f"{kind}.csv", organisation="Odense Kommune")
        assert report.errors == [] and report.written
    session.commit()


def test_good_files_import_everything(session: Session, data_dir: Path) -> None:
    _load_all(session, data_dir)
    report = import_csv(session, "tenants", data_dir / "tenants_excel.csv")
    session.commit()
    assert (report.created, report.rows, report.errors) == (3, 3, [])
    assert session.scalar(select(func.count()).select_from(Caseworker)) == 3
    assert session.scalar(select(Team.name)) == "Housing First Odense"
    lead = session.scalars(select(Caseworker).where(Caseworker.role == "team_lead")).one()
    assert lead.phone == "+4526000101"
    aisha = session.scalars(select(Caseworker).where(Caseworker.name == "Aisha Khan")).one()
    assert (aisha.phone, aisha.role) == ("+4526000103", "caseworker")
    anna = session.scalars(select(Tenant).where(Tenant.phone == "+4528000301")).one()
    assert anna.name == "Anna Sørensen"  # BOM stripped, UTF-8 kept
    assert (anna.checkin_weekdays, anna.checkin_time, anna.language) == ("2", time(10), "da")
    tomasz = session.scalars(select(Tenant).where(Tenant.name == "Tomasz Nowak")).one()
    assert (tomasz.checkin_weekdays, tomasz.checkin_time, tomasz.language) == ("1,4",
                                                                                 time(9, 30), "en")
    home = session.scalars(select(Home).where(Home.reference == "FB-1001")).one()
    assert home.city == "Odense NØ" and home.landlord.email == "drift@fynbolig.example"
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "import")) == 4


def test_reimport_changes_nothing(session: Session, data_dir: Path) -> None:
    _load_all(session, data_dir)
    import_csv(session, "tenants", data_dir / "tenants_excel.csv")
    session.commit()
    for kind, name in [("caseworkers", "caseworkers.csv"), ("landlords", "landlords.csv"),
                       ("homes", "homes.csv"), ("tenants", "tenants_excel.csv")]:
        report = import_csv(session, kind, data_dir / name)
        assert (report.created, report.updated) == (0, 0), kind
        assert report.unchanged == report.rows
    session.commit()
    assert session.scalar(select(func.count()).select_from(Tenant)) == 3


def test_changed_row_updates_in_place(session: Session, data_dir: Path, tmp_path: Path) -> None:
    _load_all(session, data_dir)
    f = tmp_path / "landlords.csv"
    f.write_text("email,name,company,phone\nDRIFT@fynbolig.example,Peter Lund,Fyn Bolig Nord,\n")
    report = import_csv(session, "landlords", f)
    session.commit()
    assert (report.created, report.updated) == (0, 1)
    assert session.scalars(select(Landlord).where(
        Landlord.email == "drift@fynbolig.example")).one().company == "Fyn Bolig Nord"


def test_bad_rows_are_all_reported_and_nothing_written(session: Session, data_dir: Path) -> None:
    _load_all(session, data_dir)
    report = import_csv(session, "tenants", data_dir / "tenants_bad.csv")
    assert not report.written
    got = {(e.line, e.column) for e in report.errors}
    assert got == {(3, "phone"), (4, "phone"), (5, "home_reference"), (6, "language"),
                   (7, "checkin_weekday"), (8, "checkin_time"), (9, "caseworker_email"),
                   (10, "name")}
    dup = next(e for e in report.errors if e.line == 4)
    assert "duplicate of line 2" in dup.reason
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Tenant)) == 0


def test_skip_invalid_writes_the_good_rows(session: Session, data_dir: Path) -> None:
    _load_all(session, data_dir)
    report = import_csv(session, "tenants", data_dir / "tenants_bad.csv", skip_invalid=True)
    session.commit()
    assert report.written and report.created == 2 and report.bad_rows == 8
    assert set(session.scalars(select(Tenant.name))) == {"Anna Sørensen", "Good Two"}


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"),
    ("mail,name\nx@y.dk,X\n", "missing column(s) email"),
])
def test_unreadable_files(session: Session, tmp_path: Path, content: str, message: str) -> None:
    session.add(Organisation(name="Odense Kommune"))
    session.flush()
    f = tmp_path / "landlords.csv"
    f.write_text(content)
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_csv(session, "landlords", f)


def test_extra_fields_and_cp1252(session: Session, tmp_path: Path) -> None:
    session.add(Organisation(name="Odense Kommune"))
    session.flush()
    f = tmp_path / "landlords.csv"
    f.write_bytes("email;name;company;phone\na@b.dk;Søren Ø;Bolig;\nc@d.dk;X;Y;;extra\n"
                  .encode("cp1252"))
    report = import_csv(session, "landlords", f)
    assert [(e.line, e.column) for e in report.errors] == [(3, "(row)")]
    report = import_csv(session, "landlords", f, skip_invalid=True)
    assert session.scalars(select(Landlord)).one().name == "Søren Ø"


def test_caseworker_phone_cannot_be_shared(session: Session, data_dir: Path,
                                           tmp_path: Path) -> None:
    _load_all(session, data_dir)
    f = tmp_path / "cw.csv"
    f.write_text("email,name,phone,team,role\nnew@odense.example,New,26000101,T,boss\n")
    report = import_csv(session, "caseworkers", f)
    assert {e.column for e in report.errors} == {"role"}
    f.write_text("email,name,phone,team,role\nnew@odense.example,New,26000101,T,caseworker\n")
    report = import_csv(session, "caseworkers", f)
    assert [e.column for e in report.errors] == ["phone"]
    assert "mette.holm@odense.example" in report.errors[0].reason


def test_needs_an_organisation(session: Session, data_dir: Path) -> None:
    with pytest.raises(ImportFileError, match="--organisation"):
        import_csv(session, "landlords", data_dir / "landlords.csv")


def test_every_bad_value_in_a_row_is_reported(session: Session, data_dir: Path,
                                              tmp_path: Path) -> None:
    _load_all(session, data_dir)
    f = tmp_path / "tenants.csv"
    f.write_text("name,phone,language,home_reference,caseworker_email,checkin_weekday,"
                 "checkin_time\n"
                 ",12,de,XX-9999,nobody@odense.example,funday,25:99\n"
                 "Good,28000315,da,FB-1002,aisha.khan@odense.example,fri,14:00\n",
                 encoding="utf-8")
    report = import_csv(session, "tenants", f)
    assert not report.written and report.bad_rows == 1
    assert [(e.line, e.column) for e in report.errors] == [
        (2, "phone"), (2, "name"), (2, "language"), (2, "home_reference"),
        (2, "caseworker_email"), (2, "checkin_weekday"), (2, "checkin_time")]
    f.write_text("reference,address,postcode,city,landlord_email\n"
                 "X-1,,12,,not-an-email\n", encoding="utf-8")
    report = import_csv(session, "homes", f)
    assert {e.column for e in report.errors} == {"address", "postcode", "city",
                                                 "landlord_email"}


@pytest.mark.parametrize(("kind", "header", "missing"), [
    ("tenants", "name,language,home_reference,caseworker_email", "phone"),
    ("caseworkers", "email,name,phone,role", "team"),
    ("homes", "reference,address,city,landlord_email", "postcode"),
])
def test_a_file_without_a_required_column_is_refused_at_the_header(
        session: Session, data_dir: Path, tmp_path: Path, kind: str, header: str,
        missing: str) -> None:
    _load_all(session, data_dir)
    f = tmp_path / f"{kind}.csv"
    f.write_text(header + "\n" + ",".join("x" for _ in header.split(",")) + "\n",
                 encoding="utf-8")
    with pytest.raises(ImportFileError, match=rf"missing column\(s\) {missing};"):
        import_csv(session, kind, f)
