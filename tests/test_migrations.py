"""Models and migrations agree, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import elearn.models  # noqa: F401 - registers the tables
from elearn.db import make_engine, upgrade


def test_migrations_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert {"partnership", "organisation", "team", "user", "auditevent"} <= tables


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
