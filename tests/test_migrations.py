"""Migrations build the same schema as the models, from empty, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from bot.db import current_revision, head_revision, is_current
from bot.models import Base


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
