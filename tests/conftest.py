"""Shared fixtures. Database tests run once on SQLite and once on PostgreSQL.

PostgreSQL is required, not optional: if it cannot be reached the PostgreSQL leg errors loudly
(set TEST_POSTGRES_URL to point elsewhere, or `--db sqlite` to run only the SQLite leg locally).
"""

from __future__ import annotations

import io
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.console import ConsoleChannel
from bot.core.config import Settings
from bot.core.db import make_engine, make_session_factory, upgrade
from bot.models import Base
from bot.runtime import Runtime
from tests.support.factories import World, make_world

# CI machines are small and busy: a slow example is not a bug, so no per-example deadline.
hypothesis_settings.register_profile("trygthjem", deadline=None, database=None)
hypothesis_settings.load_profile("trygthjem")

pytest_plugins = ["tests.support.emulators", "tests.support.browser", "tests.support.sms"]

PG_URL = os.environ.get("TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("both", *BACKENDS), default="both",
                     help="database backend(s) for database tests (default: both)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = BACKENDS if choice == "both" else (choice,)
        metafunc.parametrize("backend", backends, scope="session", indirect=False)


@pytest.fixture(scope="session")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database for this test session: an SQLite file or a PostgreSQL schema."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        upgrade(make_engine(url))
        yield url
        return
    schema = f"th_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable ({type(exc).__name__}). Start it "
                    "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) "
                    "or set TEST_POSTGRES_URL.", pytrace=False)
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(make_engine(url))
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                else:
                    # organisations <-> teams point at each other (the intake team).
                    conn.execute(text("UPDATE organisations SET intake_team_id = NULL"))
                    for name in tables:
                        conn.execute(text(f"DELETE FROM {name}"))
            return
        except OperationalError:
            # TRUNCATE can deadlock with a concurrent ANALYZE (autovacuum or another client).
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on a database that is emptied after the test."""
    yield make_session_factory(engine)
    _wipe(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secret_key="test-secret-key-0123456789",
                    public_base_url="https://trygthjem.test", console_channels=True)


@pytest.fixture
def world(session: Session) -> World:
    """One municipality, one team, two landlords and a tenant (tests.support.factories)."""
    return make_world(session)


@pytest.fixture
def console_channels() -> dict[str, ConsoleChannel]:
    return {name: ConsoleChannel(name, stream=io.StringIO())
            for name in ("sms", "telegram", "email", "webhook")}


@pytest.fixture
def worker_running(sessions: sessionmaker[Session]) -> None:
    """A worker's heartbeat, as in every deployment the web tests model: replies say "your
    caseworker has been told" only while something sends the outbox (tests of a stopped worker
    build their runtime without this)."""
    from bot.ops.heartbeat import beat

    with sessions() as s, s.begin():
        beat(s, "worker", process="worker:tests")


@pytest.fixture
def runtime(settings: Settings, engine: Engine, sessions: sessionmaker[Session],
            console_channels: dict[str, ConsoleChannel]) -> Runtime:
    return Runtime(settings, engine, sessions, dict(console_channels))


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    from webhooks import create_app

    application = create_app(runtime)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).parent / "data"
