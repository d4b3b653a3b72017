"""Server-side sessions: hashed ids, idle and absolute timeouts, ending one or all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from elearn.config import Settings
from elearn.models import AuthSession, Organisation, User, utcnow
from elearn.services import sessions
from elearn.services.tokens import token_hash
from tests.conftest import PASSWORD, new_account


@pytest.fixture
def user(db: Session, organisations: list[Organisation]) -> User:
    return new_account(
        db,
        name="Sam Learner",
        email="sam@example.org",
        password=PASSWORD,
        organisation_id=organisations[0].id,
    )


def _row(db: Session, token: str) -> AuthSession | None:
    db.expire_all()
    return db.exec(select(AuthSession).where(AuthSession.id == token_hash(token))).first()


def _move_back(db: Session, token: str, **deltas: timedelta) -> None:
    row = _row(db, token)
    assert row is not None
    for column, delta in deltas.items():
        setattr(row, column, getattr(row, column) - delta)
    db.add(row)
    db.commit()


def test_only_a_hash_of_the_token_is_stored(db: Session, user: User) -> None:
    token, csrf = sessions.start_session(db, user=user)
    stored = db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).all()
    assert [s.id for s in stored] == [token_hash(token)]
    assert token not in {s.id for s in stored}
    assert stored[0].csrf_token == csrf and csrf != token


def test_every_session_gets_a_new_token(db: Session, user: User, settings: Settings) -> None:
    first, csrf1 = sessions.start_session(db, user=user)
    second, csrf2 = sessions.start_session(db, user=user)
    assert first != second and csrf1 != csrf2
    for token in (first, second):
        found = sessions.current(db, token=token, settings=settings)
        assert found is not None and found.user.id == user.id


@pytest.mark.parametrize("token", [None, "", "not-a-session"])
def test_no_or_unknown_token_is_nobody(
    db: Session, user: User, settings: Settings, token: str | None
) -> None:
    sessions.start_session(db, user=user)
    assert sessions.current(db, token=token, settings=settings) is None


def test_idle_session_expires_and_is_deleted(db: Session, user: User, settings: Settings) -> None:
    token, _ = sessions.start_session(db, user=user)
    _move_back(db, token, last_seen_at=timedelta(minutes=settings.session_idle_minutes + 1))
    assert sessions.current(db, token=token, settings=settings) is None
    assert _row(db, token) is None


def test_activity_inside_the_idle_window_keeps_the_session_and_renews_it(
    db: Session, user: User, settings: Settings
) -> None:
    token, _ = sessions.start_session(db, user=user)
    _move_back(db, token, last_seen_at=timedelta(minutes=settings.session_idle_minutes - 1))
    assert sessions.current(db, token=token, settings=settings) is not None
    row = _row(db, token)
    assert row is not None
    assert utcnow() - sessions._aware(row.last_seen_at) < timedelta(seconds=30)  # touched
    # ... so the same idle period later it is still alive.
    _move_back(db, token, last_seen_at=timedelta(minutes=settings.session_idle_minutes - 1))
    assert sessions.current(db, token=token, settings=settings) is not None


def test_last_seen_is_not_rewritten_on_every_request(
    db: Session, user: User, settings: Settings
) -> None:
    token, _ = sessions.start_session(db, user=user)
    _move_back(db, token, last_seen_at=timedelta(seconds=10))
    before = _row(db, token)
    assert before is not None
    seen = before.last_seen_at
    assert sessions.current(db, token=token, settings=settings) is not None
    after = _row(db, token)
    assert after is not None and after.last_seen_at == seen


def test_absolute_timeout_ends_even_an_active_session(
    db: Session, user: User, settings: Settings
) -> None:
    token, _ = sessions.start_session(db, user=user)
    _move_back(db, token, created_at=timedelta(hours=settings.session_absolute_hours, minutes=1))
    assert sessions.current(db, token=token, settings=settings) is None
    assert _row(db, token) is None


def test_end_session_ends_only_that_session(db: Session, user: User, settings: Settings) -> None:
    mine, _ = sessions.start_session(db, user=user)
    other, _ = sessions.start_session(db, user=user)
    sessions.end_session(db, token=mine)
    assert sessions.current(db, token=mine, settings=settings) is None
    assert sessions.current(db, token=other, settings=settings) is not None
    sessions.end_session(db, token=None)  # signed-out browsers: harmless
    assert sessions.current(db, token=other, settings=settings) is not None


def test_end_all_sessions_can_keep_this_one(
    db: Session, user: User, organisations: list[Organisation], settings: Settings
) -> None:
    someone = new_account(
        db,
        name="Alex Other",
        email="alex@example.org",
        password=PASSWORD,
        organisation_id=organisations[0].id,
    )
    keep, _ = sessions.start_session(db, user=user)
    phone, _ = sessions.start_session(db, user=user)
    laptop, _ = sessions.start_session(db, user=user)
    theirs, _ = sessions.start_session(db, user=someone)
    assert user.id is not None
    assert sessions.end_all_sessions(db, user_id=user.id, keep=keep) == 2
    assert sessions.current(db, token=keep, settings=settings) is not None
    assert sessions.current(db, token=phone, settings=settings) is None
    assert sessions.current(db, token=laptop, settings=settings) is None
    assert sessions.current(db, token=theirs, settings=settings) is not None  # not theirs
    assert sessions.end_all_sessions(db, user_id=user.id) == 1
    assert sessions.current(db, token=keep, settings=settings) is None
