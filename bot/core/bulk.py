"""Bulk ``INSERT .. ON CONFLICT DO NOTHING`` of many plain rows, fast on PostgreSQL.

PostgreSQL (psycopg): the rows are streamed with ``COPY`` straight into the table, under a
savepoint; if a key exists already, that is rolled back and the rows go through a
per-connection temporary staging table and one ``INSERT .. SELECT .. ON CONFLICT DO NOTHING``.
Either is one statement's work for the server instead of one per row (an executemany costs the
server a parse/bind/execute per row and the client a pipeline round per row), and COPY's row
encoding is done in C. SQLite and other drivers: one executemany, as before.

Rows keep the semantics of a Core insert: each value goes through its column type's bind
processing (an aware-UTC check, JSON), and a column missing from the rows gets its Python-side
default, then its server default, exactly as ``session.execute(insert(table), rows)`` would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from bot.core import wakeup
from bot.core.db import insert_for

_UNSEEN = object()
_EMPTY_DICT: dict[str, Any] = {}  # stands for every empty dict value (never changed)


def insert_new_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                    conflict_on: Sequence[str]) -> None:
    """Insert ``rows`` (all with the same keys) in the session's transaction; a row whose
    ``conflict_on`` values already exist is left out quietly."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    defaults = _python_defaults(table, list(rows[0]))
    if dialect.name != "postgresql" or dialect.driver != "psycopg" or defaults is None:
        stmt = insert_for(session)(table).on_conflict_do_nothing(index_elements=list(conflict_on))
        session.execute(stmt, rows)
        return
    _copy_insert(session, dialect, table, rows, defaults, conflict_on)
    wakeup.announce(session)  # a Core insert through the session would have announced itself


def _python_defaults(table: Table, given: Sequence[str]) -> dict[str, Any] | None:
    """Values of the Python-side column defaults (``default=``) of the columns not in
    ``given``, evaluated once per call; None if one is a SQL expression (not stageable)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None:
            continue
        if isinstance(default, ScalarElementColumnDefault):
            values[column.name] = default.arg
        elif isinstance(default, CallableColumnDefault):
            # SQLAlchemy wraps a zero-argument default to take an execution context; none here.
            values[column.name] = default.arg(cast(Any, None))
        else:
            return None
    return values


def _copy_insert(session: Session, dialect: Dialect, table: Table,
                 rows: Sequence[Mapping[str, Any]], defaults: dict[str, Any],
                 conflict_on: Sequence[str]) -> None:
    given = list(rows[0])
    names = [*given, *defaults]
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(names):
        bind_processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if bind_processor is not None:
            processors.append((i, bind_processor))
    tail = list(defaults.values())

    quote = dialect.identifier_preparer.quote
    target = dialect.identifier_preparer.format_table(table)
    cols = ", ".join(quote(n) for n in names)
    # One staging table per connection and column list (a new column gets a new table); its
    # rows live only until the statement below moves them, and never past the transaction.
    digest = hashlib.sha1(f"{table.name}({','.join(names)})".encode()).hexdigest()[:12]
    stage = quote(f"stage_{table.name}_{digest}")
    conflict = ", ".join(quote(n) for n in conflict_on)

    # A bulk's rows mostly repeat the same object in a processed column (one `not_before`,
    # one `now`, an empty payload): process it once, not once per row.
    seen: list[Any] = [_UNSEEN] * len(names)
    done: list[Any] = [None] * len(names)
    driver = session.connection().connection.driver_connection
    assert driver is not None

    def copy_rows(cur: Any, into: str) -> None:
        with cur.copy(f"COPY {into} ({cols}) FROM STDIN") as copy:
            for row in rows:
                values = [row[n] for n in given]
                values += tail
                for i, process in processors:
                    value = values[i]
                    if value.__class__ is dict and not value:
                        value = _EMPTY_DICT
                    if value is not seen[i]:
                        seen[i], done[i] = value, _dumped(driver, process(value))
                    values[i] = done[i]
                copy.write_row(values)

    from psycopg.errors import UniqueViolation

    with driver.cursor() as cur:
        # Straight into the table first: no key exists yet is the usual case (the planner's
        # keys belong to check-ins made in this same transaction), and a plain COPY is about a
        # third cheaper for the server than the staged ON CONFLICT insert below.
        cur.execute("SAVEPOINT bulk_insert")
        try:
            copy_rows(cur, target)
        except UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT bulk_insert")
        else:
            cur.execute("RELEASE SAVEPOINT bulk_insert")
            return
        # A key exists already (or twice in `rows`): stage the rows and keep the new ones.
        cur.execute("RELEASE SAVEPOINT bulk_insert")
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                    f"SELECT {cols} FROM {target} WITH NO DATA")
        copy_rows(cur, stage)
        cur.execute(f"WITH staged AS (DELETE FROM {stage} RETURNING {cols}) "
                    f"INSERT INTO {target} ({cols}) SELECT {cols} FROM staged "
                    f"ON CONFLICT ({conflict}) DO NOTHING")


def _dumped(driver: Any, value: Any) -> Any:
    """A psycopg JSON wrapper as its JSON text, made by the connection's own dumper: COPY
    would otherwise serialise the same wrapper again for every row that shares it."""
    from psycopg.adapt import PyFormat
    from psycopg.types.json import Json, Jsonb

    if not isinstance(value, Json | Jsonb):
        return value
    dumper = driver.adapters.get_dumper(type(value), PyFormat.TEXT)(type(value), driver)
    return bytes(dumper.dump(value)).decode()
