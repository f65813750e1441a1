"""CSV import of caseworkers, landlords, homes and tenants.

Every row is validated before anything is written; by default one bad row means nothing is
written. Rows are upserted on their natural key (e-mail, reference, phone), so importing the same
file twice changes nothing. Excel's "CSV (semicolon)" with a BOM or in Windows-1252 is accepted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import audit, time_text
from bot.core.config import Settings
from bot.core.organisations import new_organisation
from bot.core.phones import InvalidPhone, normalise_phone
from bot.models import Caseworker, Home, Landlord, Organisation, Role, Team, Tenant

KINDS = ("caseworkers", "landlords", "homes", "tenants")
COLUMNS: dict[str, tuple[str, ...]] = {
    "caseworkers": ("email", "name", "phone", "team", "role"),
    "landlords": ("email", "name", "company", "phone"),
    "homes": ("reference", "address", "postcode", "city", "landlord_email"),
    "tenants": ("name", "phone", "language", "home_reference", "caseworker_email",
                "checkin_weekday", "checkin_time"),
}
OPTIONAL = {"phone", "company", "language", "checkin_weekday", "checkin_time", "role"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, header): nothing is written."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column!r}: {self.reason}"


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False


class FieldError(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a CSV file: detect `;` or `,`, strip a BOM, fall back to Windows-1252."""
    raw = path.read_bytes()
    not_text = ImportFileError(f"{path.name} is not a text CSV file (save it from Excel as "
                               "'CSV UTF-8')")
    if b"\x00" in raw:  # a spreadsheet, picture or UTF-16 file, never a CSV we can read
        raise not_text
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:  # five bytes are undefined in Windows-1252
            raise not_text from None
    if not text.strip():
        raise ImportFileError(f"{path} is empty")
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = []
    line = reader.line_num
    for record in reader:
        if None in record:
            extra = record.pop(None)  # type: ignore[call-overload]
            record["__extra__"] = ";".join(extra)
        values = {k: (v or "").strip() for k, v in record.items() if k is not None}
        if any(values.values()):  # Excel leaves ;;;; lines at the end
            rows.append((line + 1, values))
        line = reader.line_num
    return header, rows


def _require(row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise FieldError(column, "is empty")
    return value


def _email(row: dict[str, str], column: str) -> str:
    value = _require(row, column).lower()
    if not _EMAIL.match(value):
        raise FieldError(column, f"{value!r} is not an e-mail address")
    return value


def _phone(row: dict[str, str], column: str, required: bool) -> str | None:
    value = row.get(column, "")
    if not value:
        if required:
            raise FieldError(column, "is empty")
        return None
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise FieldError(column, str(exc)) from None


class _Context:
    """Lookups shared by the validators; reads the database once per referenced key."""

    def __init__(self, session: Session, organisation: Organisation) -> None:
        self.session = session
        self.organisation = organisation
        self._cache: dict[tuple[type, str], Any] = {}

    def find(self, model: type, column: str, value: str) -> Any:
        key = (model, f"{column}={value}")
        if key not in self._cache:
            self._cache[key] = self.session.scalar(
                select(model).where(getattr(model, column) == value))
        return self._cache[key]


def _caseworker(row: dict[str, str], ctx: _Context) -> tuple[str, dict[str, Any]]:
    email = _email(row, "email")
    role = (row.get("role") or Role.CASEWORKER).lower().replace(" ", "_").replace("-", "_")
    if role not in set(Role):
        raise FieldError("role", f"{role!r} must be one of caseworker, team_lead, admin")
    return email, {"email": email, "name": _require(row, "name"),
                   "phone": _phone(row, "phone", required=False),
                   "team": _require(row, "team"), "role": role}


def _landlord(row: dict[str, str], ctx: _Context) -> tuple[str, dict[str, Any]]:
    email = _email(row, "email")
    return email, {"email": email, "name": _require(row, "name"),
                   "company": row.get("company", ""), "phone": _phone(row, "phone", False)}


def _home(row: dict[str, str], ctx: _Context) -> tuple[str, dict[str, Any]]:
    reference = _require(row, "reference")
    postcode = _require(row, "postcode")
    if not re.fullmatch(r"\d{4}", postcode):
        raise FieldError("postcode", f"{postcode!r} is not a Danish postcode (4 digits)")
    landlord_email = _email(row, "landlord_email")
    landlord = ctx.find(Landlord, "email", landlord_email)
    if landlord is None:
        raise FieldError("landlord_email", f"no landlord with e-mail {landlord_email} "
                         "(import landlords first)")
    return reference, {"reference": reference, "address": _require(row, "address"),
                       "postcode": postcode, "city": _require(row, "city"),
                       "landlord_id": landlord.id}


def _tenant(row: dict[str, str], ctx: _Context) -> tuple[str, dict[str, Any]]:
    phone = _phone(row, "phone", required=True)
    assert phone is not None
    language = (row.get("language") or "da").lower()
    if language not in ("da", "en"):
        raise FieldError("language", f"{language!r} must be da or en")
    home_ref = _require(row, "home_reference")
    home = ctx.find(Home, "reference", home_ref)
    if home is None:
        raise FieldError("home_reference", f"no home with reference {home_ref!r} "
                         "(import homes first)")
    cw_email = _email(row, "caseworker_email")
    caseworker = ctx.find(Caseworker, "email", cw_email)
    if caseworker is None:
        raise FieldError("caseworker_email", f"no caseworker with e-mail {cw_email} "
                         "(import caseworkers first)")
    try:
        days = time_text.parse_weekdays(row.get("checkin_weekday") or "tue")
    except ValueError as exc:
        raise FieldError("checkin_weekday", str(exc)) from None
    try:
        at = time_text.parse_local_time(row.get("checkin_time") or "10:00")
    except ValueError as exc:
        raise FieldError("checkin_time", str(exc)) from None
    return phone, {"name": _require(row, "name"), "phone": phone, "language": language,
                   "home_id": home.id, "caseworker_id": caseworker.id,
                   "checkin_weekdays": ",".join(str(d) for d in sorted(days)),
                   "checkin_time": at}


_VALIDATORS: dict[str, Callable[[dict[str, str], _Context], tuple[str, dict[str, Any]]]] = {
    "caseworkers": _caseworker, "landlords": _landlord, "homes": _home, "tenants": _tenant,
}
_MODELS: dict[str, tuple[type, str]] = {
    "caseworkers": (Caseworker, "email"), "landlords": (Landlord, "email"),
    "homes": (Home, "reference"), "tenants": (Tenant, "phone"),
}
# Columns that must be unique across rows besides the natural key.
_UNIQUE_EXTRA = {"caseworkers": "phone"}


def resolve_organisation(session: Session, name: str | None,
                         settings: Settings | None = None) -> Organisation:
    """The named municipality (created with the deployment's defaults if new), or the only one."""
    if name:
        org = session.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            org = new_organisation(name, settings)
            session.add(org)
            session.flush()
        return org
    orgs = list(session.scalars(select(Organisation).limit(2)))
    if len(orgs) == 1:
        return orgs[0]
    if not orgs:
        raise ImportFileError("no organisation exists yet: pass --organisation 'Odense Kommune'")
    raise ImportFileError("several organisations exist: pass --organisation NAME")


def import_csv(
    session: Session,
    kind: str,
    path: Path,
    *,
    organisation: str | None = None,
    settings: Settings | None = None,
    skip_invalid: bool = False,
    actor: str = "cli",
    progress: Callable[[Iterable[Any]], Iterator[Any]] | None = None,
) -> ImportReport:
    """Validate all rows, then upsert them in the caller's transaction (the caller commits)."""
    if kind not in KINDS:
        raise ImportFileError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    header, rows = read_rows(path)
    missing = [c for c in COLUMNS[kind] if c not in header and c not in OPTIONAL]
    if missing:
        raise ImportFileError(f"{path.name}: missing column(s) {', '.join(missing)}; expected "
                              f"header: {','.join(COLUMNS[kind])}")
    if not rows:  # usually the wrong export (only the header row saved): say so, do not "succeed"
        raise ImportFileError(f"{path.name} has a header but no rows")
    org = resolve_organisation(session, organisation, settings)
    ctx = _Context(session, org)
    report = ImportReport(kind=kind, rows=len(rows))
    valid: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    seen_extra: dict[str, int] = {}
    wrap = progress or (lambda it: iter(it))
    for line, row in wrap(rows):
        try:
            if row.get("__extra__"):
                raise FieldError("(row)", "has more fields than the header")
            key, values = _VALIDATORS[kind](row, ctx)
            natural = _MODELS[kind][1]
            if key in seen:
                raise FieldError(natural, f"duplicate of line {seen[key]}")
            extra_col = _UNIQUE_EXTRA.get(kind)
            extra = values.get(extra_col) if extra_col else None
            if extra_col and extra:
                if extra in seen_extra:
                    raise FieldError(extra_col, f"duplicate of line {seen_extra[extra]}")
                other = ctx.find(_MODELS[kind][0], extra_col, extra)
                if other is not None and getattr(other, natural) != key:
                    raise FieldError(extra_col, f"{extra} already belongs to "
                                     f"{getattr(other, natural)}")
                seen_extra[extra] = line
            seen[key] = line
            valid.append((key, values))
        except FieldError as exc:
            report.errors.append(RowError(line, exc.column, exc.reason))
    if report.errors and not skip_invalid:
        return report
    for key, values in valid:
        _upsert(session, kind, org, key, values, report)
    report.written = True
    audit.record(session, actor, "import", kind, None, file=path.name, created=report.created,
                 updated=report.updated, unchanged=report.unchanged,
                 invalid=len(report.errors))
    return report


def _upsert(session: Session, kind: str, org: Organisation, key: str, values: dict[str, Any],
            report: ImportReport) -> None:
    model, natural = _MODELS[kind]
    values = dict(values)
    if kind == "caseworkers":
        team_name = values.pop("team")
        team = session.scalar(select(Team).where(Team.organisation_id == org.id,
                                                 Team.name == team_name))
        if team is None:
            team = Team(organisation_id=org.id, name=team_name)
            session.add(team)
            session.flush()
        values["team_id"] = team.id
    if kind in ("tenants", "homes"):
        values["organisation_id"] = org.id
    existing = session.scalar(select(model).where(getattr(model, natural) == key))
    if existing is None:
        session.add(model(**values))
        session.flush()
        report.created += 1
        return
    changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
    if not changed:
        report.unchanged += 1
        return
    for k, v in changed.items():
        setattr(existing, k, v)
    report.updated += 1
