"""People in a partnership: making a partnership admin from the command line."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from elearn.config import Settings
from elearn.models import Partnership, PasswordReset, User, utcnow
from elearn.services import accounts, audit
from elearn.services.tokens import new_token

ADMIN_LINK_FOR = timedelta(days=7)


class PeopleError(ValueError):
    """A request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class AdminResult:
    """The admin account, what its role was before (None when it is new), and the one-use
    link that sets its password (None when the account already existed)."""

    user: User
    previous_role: str | None
    link: str | None


def _unusable_password_hash() -> str:
    """A stored hash no password matches (not an argon2 hash, so never verifies)."""
    return f"!unusable!{secrets.token_urlsafe(16)}"


def create_admin(
    db: Session, *, partnership_id: str, email: str, name: str, settings: Settings
) -> AdminResult:
    """Make `email` an admin of the partnership: a new account with no usable password and a
    link, lasting ADMIN_LINK_FOR, that sets it; or an account already in the partnership made
    admin. PeopleError for an unknown partnership, a bad name or address, or an account in
    another partnership."""
    if db.get(Partnership, partnership_id) is None:
        known = db.exec(select(Partnership.id).order_by(col(Partnership.id))).all()
        listed = ", ".join(known) if known else "none: run `elearn partnerships load` first"
        raise PeopleError(f"no partnership {partnership_id!r}; known partnerships: {listed}")
    email = accounts.normalise_email(email)
    if problem := accounts.email_problem(email):
        raise PeopleError(problem)
    if problem := accounts.name_problem(name):
        raise PeopleError(problem)
    existing = db.exec(select(User).where(User.email == email)).first()
    if existing is not None:
        return _promote(db, existing, partnership_id)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=_unusable_password_hash(),
        role="admin",
        partnership_id=partnership_id,
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # the same address was given an account at the same moment
        db.rollback()
        raise PeopleError(f"{email} was given an account just now; run the command again") from None
    # Unconfirmed until the link is used; set after the insert, where None means the default.
    user.email_confirmed_at = None
    assert user.id is not None
    token, digest = new_token()
    db.add(PasswordReset(token_hash=digest, user_id=user.id, expires_at=utcnow() + ADMIN_LINK_FOR))
    audit.record(
        db,
        actor=None,
        action="person.admin_created",
        partnership_id=partnership_id,
        subject_id=user.id,
        after={"role": "admin", "email": email, "name": user.name},
    )
    db.commit()
    db.refresh(user)
    return AdminResult(
        user=user, previous_role=None, link=f"{settings.public_url}/account/reset/{token}"
    )


def _promote(db: Session, user: User, partnership_id: str) -> AdminResult:
    if user.partnership_id != partnership_id:
        raise PeopleError(
            f"{user.email} already has an account in partnership {user.partnership_id!r}, "
            f"not {partnership_id!r}; nothing was changed"
        )
    previous = user.role
    if previous != "admin":
        user.role = "admin"
        db.add(user)
        audit.record(
            db,
            actor=None,
            action="person.role",
            partnership_id=partnership_id,
            subject_id=user.id,
            before={"role": previous},
            after={"role": "admin"},
        )
        db.commit()
        db.refresh(user)
    return AdminResult(user=user, previous_role=previous, link=None)
