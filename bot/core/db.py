"""Engine, sessions and schema management (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

# Registers the session hooks that wake the worker when alerts or outbox rows are committed.
from bot.core import wakeup as _wakeup  # noqa: F401

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; callers answer 503 / exit non-zero, never half-work."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        # The web app, the worker and the CLI share one file: wait for locks instead of failing.
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: handlers read attributes after commit to build replies.
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def pinned(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transactions share one pooled connection (`with session.begin()` each).

    For a request that commits more than once (inbound SMS: store, then process): one pool
    checkout and one pre-ping instead of one per transaction.
    """
    bind = factory.kw["bind"]
    with bind.connect() as conn, factory(bind=conn) as session:
        yield session


class _WriterQueue:
    """One SQLite file's writers in this process and across processes, in the kernel's queue.

    SQLite has one writer; a writer that finds the file locked sleeps in SQLite's busy handler
    (1, 2, 5, 10 ... 100 ms steps) and may miss the lock again and again while other processes
    take it in between: the webhook's p99 under load was that queue. A blocking flock wakes
    the next waiter as soon as the lock is free, in turn.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.threads = threading.Lock()  # flock does not exclude threads sharing the file
        self.fd: int | None = None
        self.pid = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self.threads:
            fd = self._fd()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _fd(self) -> int | None:
        if self.fd is None or self.pid != os.getpid():  # opened after a fork, per process
            try:
                self.fd, self.pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            except OSError as exc:  # no queue then, as before; never fail a write for it
                warnings.warn(f"SQLite writer queue off: {exc}", RuntimeWarning, stacklevel=2)
                return None
        return self.fd


_writer_queues: dict[str, _WriterQueue] = {}
_writer_queues_lock = threading.Lock()


# Per engine, found on first use: resolving the path costs a system call per directory, and
# the URL check renders it (a relative path is resolved against the directory of first use).
_engine_queues: weakref.WeakKeyDictionary[Engine, _WriterQueue | None] = (
    weakref.WeakKeyDictionary())


def _writer_queue(engine: Engine) -> _WriterQueue | None:
    try:
        return _engine_queues[engine]
    except KeyError:
        pass
    url = engine.url
    path = url.database
    queue = None
    if path and path != ":memory:" and "mode=memory" not in str(url):
        lock_path = str(Path(path).resolve()) + "-writers.lock"
        with _writer_queues_lock:
            queue = _writer_queues.setdefault(lock_path, _WriterQueue(lock_path))
    _engine_queues[engine] = queue
    return queue


@contextmanager
def write_turn(engine: Engine) -> Iterator[None]:
    """Wait for this SQLite file's writer turn (a no-op on PostgreSQL and in-memory SQLite).

    For short write transactions that many web processes run at once (the inbound webhook's
    store and process): they queue instead of polling the lock."""
    queue = _writer_queue(engine) if engine.dialect.name == "sqlite" else None
    if queue is None:
        yield
        return
    with queue.turn():
        yield


def insert_for(session: Session) -> Callable[..., Any]:
    """The dialect's ``insert`` (it has ``on_conflict_do_nothing``) for the session's database.

    Both dialects spell ON CONFLICT the same way in SQLAlchemy, but through different classes;
    this is the one place that chooses.
    """
    return insert_for_dialect(session.get_bind().dialect.name)


def insert_for_dialect(name: str) -> Callable[..., Any]:
    """:func:`insert_for` by dialect name, for statements built once per process."""
    return postgresql.insert if name == "postgresql" else sqlite.insert


def affected_rows(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (the typed Result does not promise rowcount)."""
    return cast(CursorResult[Any], result).rowcount or 0


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot reach the database: {exc.orig}") from None


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    check_connection(engine)
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
