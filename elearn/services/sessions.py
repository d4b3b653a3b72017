"""Server-side sessions: created at sign-in, checked on each request, ended at sign-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, delete

from elearn.config import Settings
from elearn.models import AuthSession, User, utcnow
from elearn.services.tokens import new_token, token_hash

TOUCH_EVERY = timedelta(minutes=1)  # how stale last_seen_at may get before it is written


class WriteNeeded(Exception):
    """A read-only lookup found that something must be written first (try again writable)."""


@dataclass(frozen=True)
class SignedIn:
    """The person behind a request and their session."""

    user: User
    session: AuthSession


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_session(db: Session, *, user: User) -> tuple[str, str]:
    """A new session (a new id at every sign-in): its cookie token and its CSRF token."""
    token, digest = new_token()
    csrf = secrets.token_urlsafe(32)
    assert user.id is not None
    db.add(AuthSession(id=digest, user_id=user.id, csrf_token=csrf))
    db.commit()
    return token, csrf


_SESSIONS = AuthSession.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
# Looked up on every signed-in request: a prepared Core statement, rows built once.
_LOOKUP = (
    sa.select(*[c.label(f"s_{c.name}") for c in _SESSIONS.c], *_USERS.c)
    .join_from(_SESSIONS, _USERS, _SESSIONS.c.user_id == _USERS.c.id)
    .where(_SESSIONS.c.id == sa.bindparam("sid"))
)


@dataclass(frozen=True)
class Lookup:
    """What a cookie token stands for: a live session, or the person whose session just ended."""

    signed_in: SignedIn | None = None
    ended_for: int | None = None  # the user whose session this token was, if it has just ended


def current(
    db: Session, *, token: str | None, settings: Settings, read_only: bool = False
) -> SignedIn | None:
    """The live session for a cookie token, or None (expired sessions are deleted).

    The objects returned are read-only snapshots, not attached to the database session:
    code that changes a user loads it itself. With `read_only`, raises WriteNeeded instead
    of deleting an expired session or recording that a session was used.
    """
    return look_up(db, token=token, settings=settings, read_only=read_only).signed_in


def look_up(
    db: Session, *, token: str | None, settings: Settings, read_only: bool = False
) -> Lookup:
    """As current(), also saying whose session the token was when it has just expired."""
    if not token:
        return Lookup()
    row = db.connection().execute(_LOOKUP, {"sid": token_hash(token)}).mappings().first()
    if row is None:
        return Lookup()
    session = AuthSession(**{c.name: row[f"s_{c.name}"] for c in _SESSIONS.c})
    user = User(**{c.name: row[c.name] for c in _USERS.c})
    now = utcnow()
    idle = now - _aware(session.last_seen_at) > timedelta(minutes=settings.session_idle_minutes)
    old = now - _aware(session.created_at) > timedelta(hours=settings.session_absolute_hours)
    stale = now - _aware(session.last_seen_at) > TOUCH_EVERY
    if read_only and (idle or old or stale):
        raise WriteNeeded
    if idle or old:
        db.execute(sa.delete(_SESSIONS).where(_SESSIONS.c.id == session.id))
        db.commit()
        return Lookup(ended_for=session.user_id)
    if stale:
        session.last_seen_at = now
        db.execute(
            sa.update(_SESSIONS).where(_SESSIONS.c.id == session.id).values(last_seen_at=now)
        )
        db.commit()
    return Lookup(SignedIn(user, session))


def keep_alive(db: Session, *, session_id: str) -> None:
    """Record activity now, whatever TOUCH_EVERY allows ("Stay signed in")."""
    db.execute(
        sa.update(_SESSIONS).where(_SESSIONS.c.id == session_id).values(last_seen_at=utcnow())
    )
    db.commit()


def end_session(db: Session, *, token: str | None) -> None:
    """Sign this browser out."""
    if token:
        db.exec(delete(AuthSession).where(col(AuthSession.id) == token_hash(token)))
        db.commit()


def end_all_sessions(db: Session, *, user_id: int, keep: str | None = None) -> int:
    """Sign the person out everywhere (except, optionally, the session with token `keep`)."""
    query = delete(AuthSession).where(col(AuthSession.user_id) == user_id)
    if keep:
        query = query.where(col(AuthSession.id) != token_hash(keep))
    result = db.exec(query)
    db.commit()
    return int(result.rowcount or 0)
