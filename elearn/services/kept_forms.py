"""Forms sent after a session ended: kept, then completed when the same person signs in again.

A reflection written over an hour, or quiz answers chosen slowly, must not be lost to the idle
timeout. The form is stored against the person whose session just ended and a token that only
their browser holds; when that person signs in again on that browser it is sent once more,
through the same route as before, and they land where it would have taken them. Anyone else
signing in on that browser discards it. Files are never kept (only text forms, up to a size).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from sqlmodel import Session, col, delete, or_

from elearn.models import KeptForm, utcnow
from elearn.services.tokens import new_token, token_hash

KEPT_COOKIE = "elearn_kept"
KEEP_FOR = timedelta(hours=24)
MAX_BODY = 256_000  # characters of URL-encoded form: a 20,000-character reflection in any script
NEVER_KEPT = ("/account/", "/exit")  # signing in and out are not replayed


@dataclass(frozen=True)
class Kept:
    """A kept form, ready to send again."""

    path: str
    fields: list[tuple[str, str]]
    created_at: datetime


def keepable(path: str) -> bool:
    """Whether a form sent to this path is worth keeping."""
    return not path.startswith(NEVER_KEPT)


def keep(
    db: Session, *, user_id: int, path: str, fields: list[tuple[str, str]], drop: str
) -> str | None:
    """Store the form (without the field named `drop`); the browser's token, or None if too big.

    A person has one kept form at a time: the newest replaces any earlier one.
    """
    body = urlencode([(name, value) for name, value in fields if name != drop])
    if len(body) > MAX_BODY or len(path) > 2000:
        return None
    token, digest = new_token()
    db.exec(
        delete(KeptForm).where(
            or_(col(KeptForm.user_id) == user_id, col(KeptForm.created_at) < utcnow() - KEEP_FOR)
        )
    )
    db.add(KeptForm(token_hash=digest, user_id=user_id, path=path, body=body))
    db.commit()
    return token


def _fresh(row: KeptForm | None) -> bool:
    if row is None:
        return False
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return utcnow() - created <= KEEP_FOR


def waiting(db: Session, *, token: str | None) -> bool:
    """Whether this browser has a kept form waiting for its sender to sign in."""
    return bool(token) and _fresh(db.get(KeptForm, token_hash(token or "")))


def take(db: Session, *, token: str | None, user_id: int) -> Kept | None:
    """The kept form, if this person sent it and it is still fresh; it is deleted either way."""
    if not token:
        return None
    row = db.get(KeptForm, token_hash(token))
    if row is None:
        return None
    kept = Kept(row.path, parse_qsl(row.body, keep_blank_values=True), row.created_at)
    ours = row.user_id == user_id and _fresh(row)
    db.delete(row)
    db.commit()
    return kept if ours else None
