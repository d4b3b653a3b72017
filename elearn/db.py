"""Database engine, the request session dependency, and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# More connections than worker threads (ELEARN_WORKER_THREADS), so none waits on the pool.
POOL_SIZE = 20
POOL_OVERFLOW = 30


def make_engine(url: str, *, connect_timeout: int = 5, statement_timeout: int = 15) -> Engine:
    """An engine for the URL that never waits on the database for long.

    PostgreSQL: connecting gives up after `connect_timeout` seconds, a statement after
    `statement_timeout`, and a connection whose packets go unacknowledged (or whose peer
    vanished) is dropped by the kernel; dead pooled connections are replaced on checkout.
    SQLite gets foreign keys, WAL, and waits at most `statement_timeout` for a lock.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": statement_timeout},
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_timeout=statement_timeout,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    connect_args: dict[str, Any] = {}
    if make_url(url).get_backend_name() == "postgresql":
        connect_args = _postgres_timeouts(url, connect_timeout, statement_timeout)
    return create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=connect_timeout,
    )


def _postgres_timeouts(url: str, connect_timeout: int, statement_timeout: int) -> dict[str, Any]:
    """libpq connection parameters that bound every wait on the server."""
    options = make_url(url).query.get("options") or ""
    if isinstance(options, tuple):
        options = " ".join(options)
    return {
        "connect_timeout": connect_timeout,
        "options": f"{options} -c statement_timeout={statement_timeout * 1000}".strip(),
        # A vanished peer is noticed by keepalives; data left unacknowledged (a black-holed
        # route) drops the connection after the same patience as connecting.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": connect_timeout * 1000,
    }


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, on the app's engine."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        try:
            session.close()
        except DBAPIError as exc:
            # The connection died after the work was done (often after the response went
            # out): the server has rolled back whatever was open, and the pool replaces it.
            if not exc.connection_invalidated:
                raise


SessionDep = Annotated[Session, Depends(get_session)]


def alembic_config(url: str) -> Any:
    """Alembic configuration for the project's migrations against this URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Apply every migration to the database at the URL."""
    from alembic import command

    if url.startswith("sqlite"):
        make_engine(url).dispose()  # creates the folder of a SQLite file
    command.upgrade(alembic_config(url), "head")
