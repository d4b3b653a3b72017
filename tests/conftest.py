"""Shared fixtures: settings on a temporary data folder, each database, an app and a client."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from elearn.app import create_app
from elearn.config import Settings, load_settings

HERE = Path(__file__).resolve().parent
GOOD_COURSES = HERE / "content" / "testdata" / "good"
REAL_COURSES = HERE.parent / "courses"
PG_SERVER = os.environ.get("ELEARN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(f"{PG_SERVER}/postgres", connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    if not _postgres_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_SERVER} is not reachable, and CI=true needs it")
        pytest.skip("PostgreSQL is not reachable")
    name = f"elearn_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database the suite runs against: SQLite always, PostgreSQL when reachable."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def courses_dir(tmp_path: Path) -> Path:
    """A private copy of the small test course, safe to edit."""
    target = tmp_path / "courses"
    shutil.copytree(GOOD_COURSES, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, courses_dir: Path) -> Settings:
    """Test settings: SQLite in a temporary folder, the test course, no file watching."""
    return load_settings(
        environment="test",
        data_dir=tmp_path / "data",
        courses_dir=courses_dir,
        reload_courses=False,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client for the app, with its lifespan running."""
    app = create_app(settings, configure_logging=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
