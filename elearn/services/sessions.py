"""Server-side sessions: created at sign-in, checked on each request, ended at sign-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete, select

from elearn.config import Settings
from elearn.models import AuthSession, User, utcnow
from elearn.services.tokens import new_token, token_hash

TOUCH_EVERY = timedelta(minutes=1)  # how stale last_seen_at may get before it is written


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


def current(db: Session, *, token: str | None, settings: Settings) -> SignedIn | None:
    """The live session for a cookie token, or None (expired sessions are deleted)."""
    if not token:
        return None
    row = db.exec(
        select(AuthSession, User).join(User).where(AuthSession.id == token_hash(token))
    ).first()
    if row is None:
        return None
    session, user = row
    now = utcnow()
    idle = now - _aware(session.last_seen_at) > timedelta(minutes=settings.session_idle_minutes)
    old = now - _aware(session.created_at) > timedelta(hours=settings.session_absolute_hours)
    if idle or old:
        db.delete(session)
        db.commit()
        return None
    if now - _aware(session.last_seen_at) > TOUCH_EVERY:
        session.last_seen_at = now
        db.add(session)
        db.commit()
    return SignedIn(user, session)


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
