"""Sign-in throttling: each attempt is claimed in one statement before a password is checked.

Following the NCSC's password guidance, nobody is locked out. An account (or an address) gets
a number of attempts straight away; after that each further attempt waits longer than the one
before (1 minute, then 2, 4, 8, ... up to ELEARN_LOGIN_WINDOW_MINUTES). A successful sign-in,
or a password reset from the emailed link, clears an account's count; a count is forgotten
after a day without attempts.

The claim is an INSERT ... ON CONFLICT DO UPDATE ... WHERE the next attempt is due, RETURNING
the row: one atomic step on SQLite and PostgreSQL alike. When it returns nothing, the attempt
is refused before any password is checked, however many arrive at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from elearn.models import LoginThrottle

FORGET_AFTER = 24 * 3600  # seconds without an attempt after which a count starts again
FIRST_DELAY = 60  # seconds, doubled for each attempt over the limit
_TABLE = LoginThrottle.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Limit:
    """Attempts allowed straight away for one key, and the longest wait after that."""

    key: str
    free: int
    longest: int  # seconds


class Refused(Exception):
    """An attempt came before the key's next attempt was due."""

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(wait_seconds)
        self.wait_seconds = wait_seconds


def delay_after(attempts: int, *, free: int, longest: int) -> int:
    """Seconds to wait after the `attempts`-th attempt: none within the free ones, then
    FIRST_DELAY doubling, never more than `longest`."""
    if attempts < free:
        return 0
    return min(longest, FIRST_DELAY * 2 ** min(attempts - free, 20))


def _delay_sql(attempts: sa.ColumnElement[int], limit: Limit) -> sa.ColumnElement[int]:
    """delay_after() as a CASE the database evaluates on the counted attempts."""
    steps = []
    n = limit.free
    while delay_after(n, free=limit.free, longest=limit.longest) < limit.longest:
        steps.append((attempts == n, delay_after(n, free=limit.free, longest=limit.longest)))
        n += 1
    return sa.case((attempts < limit.free, 0), *steps, else_=limit.longest)


def _claim_one(conn: Connection, limit: Limit, now: int) -> bool:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    row = _TABLE.c
    forgotten = row.last_at + FORGET_AFTER < now
    attempts = sa.case((forgotten, 1), else_=row.attempts + 1)
    statement = (
        insert(_TABLE)
        .values(
            key=limit.key,
            attempts=1,
            last_at=now,
            next_at=now + delay_after(1, free=limit.free, longest=limit.longest),
        )
        .on_conflict_do_update(
            index_elements=[row.key],
            set_={
                "attempts": attempts,
                "last_at": now,
                "next_at": now + _delay_sql(attempts, limit),
            },
            where=sa.or_(row.next_at <= now, forgotten),
        )
        .returning(row.attempts)
    )
    return conn.execute(statement).first() is not None


def claim(engine: sa.Engine, limits: list[Limit], *, now: int | None = None) -> None:
    """Count one attempt against every limit, all or none; Refused when one is not yet due."""
    now = int(time.time()) if now is None else now
    refused: Limit | None = None
    with engine.connect() as conn:
        with conn.begin() as transaction:
            for limit in limits:  # always accounts before addresses: a fixed lock order
                if not _claim_one(conn, limit, now):
                    refused = limit
                    transaction.rollback()
                    break
        if refused is None:
            return
        due = conn.execute(sa.select(_TABLE.c.next_at).where(_TABLE.c.key == refused.key))
        next_at = due.scalar() or now
        conn.rollback()
    raise Refused(max(1, next_at - now))


def clear(engine: sa.Engine, key: str) -> None:
    """Forget a key's attempts (after a successful sign-in or a password reset)."""
    with engine.begin() as conn:
        conn.execute(sa.delete(_TABLE).where(_TABLE.c.key == key))


def give_back(engine: sa.Engine, key: str) -> None:
    """Uncount one attempt that turned out to be right (an address's count)."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(_TABLE)
            .where(_TABLE.c.key == key, _TABLE.c.attempts > 0)
            .values(attempts=_TABLE.c.attempts - 1)
        )
