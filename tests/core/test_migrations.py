"""Migrations build the same schema as the models, from empty, on both databases."""

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from bot.core.db import (
    alembic_config,
    current_revision,
    head_revision,
    is_current,
    make_engine,
    upgrade,
)
from bot.models import Base
from tests.conftest import PG_URL


def test_upgraded_from_empty_to_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine) is not None
    assert is_current(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == [], f"models differ from migrations; add a migration: {diff}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_downgrade_to_empty_and_up_again(backend: str, tmp_path: Path) -> None:
    """Every migration's downgrade works, on a database of its own (not the shared one)."""
    from alembic import command

    if backend == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path / 'mig.sqlite3'}", None
    else:
        schema = f"th_mig_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    engine = make_engine(url)
    try:
        upgrade(engine)
        command.downgrade(alembic_config(engine), "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert is_current(engine)
    finally:
        engine.dispose()
        if cleanup:
            cleanup()
