"""Accounts: sign-up, sign-in with throttling, passwords, resets and invitations."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import timedelta
from functools import lru_cache

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select, update

from elearn.config import Settings, get_settings
from elearn.errors import FormError, NotFound, TooManyAttempts
from elearn.models import (
    EmailConfirmation,
    Invitation,
    Organisation,
    PasswordReset,
    TeamManager,
    User,
    utcnow,
)
from elearn.services import throttle
from elearn.services.mail import send_mail
from elearn.services.passwords import hash_password, verify_password
from elearn.services.sessions import _aware, end_all_sessions
from elearn.services.tokens import new_token, token_hash

MIN_PASSWORD = 12
MAX_PASSWORD = 256
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SIGN_IN_FAILED = "Enter the email address and password for your account"
NOT_CONFIRMED = (
    "Confirm your email address first: use the link in the email we sent when you created "
    "your account"
)
# A real hash to check against when the email is unknown, so both paths take as long.
_DUMMY_HASH = hash_password("not a real password, used to even out timing")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why a new password is not acceptable, or None. Length and commonness only."""
    if len(password) < MIN_PASSWORD:
        return f"Password must be {MIN_PASSWORD} characters or more"
    if len(password) > MAX_PASSWORD:
        return f"Password must be {MAX_PASSWORD} characters or fewer"
    lowered = password.lower()
    common = _common_passwords()
    repeated = re.fullmatch(r"(.+?)\1+", lowered)
    if lowered in common or (repeated and (repeated[1] in common or len(repeated[1]) < 5)):
        return "This password is too common. Try three or four random words together"
    stem = lowered.rstrip("0123456789!?.")
    if stem in common or (email and lowered.startswith(email.split("@")[0].lower())):
        return "This password would be easy to guess. Try three or four random words together"
    if name and name.lower().replace(" ", "") in lowered.replace(" ", "") and len(name) > 3:
        return "Your password must not contain your name"
    return None


def normalise_email(email: str) -> str:
    """Email addresses are compared without case or surrounding spaces."""
    return email.strip().lower()


EMAIL_LENGTH = 320  # the column's size (elearn/models.py)


def email_problem(email: str) -> str | None:
    """What is wrong with an address typed for a new account, if anything."""
    if len(email) > EMAIL_LENGTH:
        return f"Your email address must be {EMAIL_LENGTH} characters or fewer"
    if not EMAIL.match(email) or _has_control_characters(email):
        return "Enter an email address in the correct format, like name@example.org"
    return None


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def _user_by_email(db: Session, email: str) -> User | None:
    """The account with this address; None, without asking the database, for text that
    cannot be an address (too long for the column, or holding a NUL)."""
    email = normalise_email(email)
    if len(email) > EMAIL_LENGTH or "\x00" in email:
        return None
    return db.exec(select(User).where(User.email == email)).first()


def _email_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def _limits(email: str, address: str, settings: Settings) -> list[throttle.Limit]:
    longest = settings.login_window_minutes * 60
    return [
        throttle.Limit(
            f"account:{_email_key(email)}", settings.login_failures_per_account, longest
        ),
        throttle.Limit(f"address:{address}", settings.login_failures_per_address, longest),
    ]


def _wait_words(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def authenticate(
    db: Session, *, email: str, password: str, address: str, settings: Settings
) -> User:
    """The user for these credentials; the same error whether or not the email is known.

    The attempt is counted before the password is checked, in one atomic step, so that no
    number of parallel attempts gets more checks than the limits allow (services.throttle)."""
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    account_key, address_key = (limit.key for limit in _limits(email, address, settings))
    try:
        throttle.claim(engine, _limits(email, address, settings))
    except throttle.Refused as exc:
        raise TooManyAttempts(
            "Sign-in is paused for a while after several attempts that did not match. Try "
            f"again in {_wait_words(exc.wait_seconds)}, or reset your password: the emailed "
            "link always works, and signing in is open again once you have used it."
        ) from None
    user = _user_by_email(db, email)
    if user is None:
        verify_password(_DUMMY_HASH, password)
    elif verify_password(user.password_hash, password):
        throttle.clear(engine, account_key)
        throttle.give_back(engine, address_key)
        if user.email_confirmed_at is None:
            raise FormError({"email": NOT_CONFIRMED})
        return user
    raise FormError({"email": SIGN_IN_FAILED})


def _signup_problems(org: Organisation | None, email: str) -> dict[str, str]:
    if org is None:
        return {"organisation": "Select your organisation"}
    if org.signup == "invitation":
        return {
            "organisation": f"{org.name} asks people to join by invitation. Ask your "
            "manager to invite you"
        }
    domains = [d.strip().lower() for d in org.email_domains.split(",") if d.strip()]
    if org.signup == "domain" and domains and email.rpartition("@")[2] not in domains:
        allowed = " or ".join(f"@{d}" for d in domains)
        return {"email": f"Use your work email address ending {allowed} to join {org.name}"}
    return {}


CONFIRM_FOR = timedelta(days=3)


def sign_up(
    db: Session,
    *,
    name: str,
    email: str,
    password: str,
    organisation_id: int | None,
    settings: Settings | None = None,
) -> None:
    """Start a learner account in an organisation, following its sign-up rules.

    Every new account confirms its address (a one-use emailed link) before it can be used, and
    an address that already has an account gets an email telling its owner instead: the answer
    is the same either way, so sign-up never tells anyone who has an account. A sign-up for an
    address whose account was never confirmed replaces that account's details (whoever holds
    the mailbox decides what the account is) and sends a new link; older links stop working."""
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if problem := name_problem(name):
        errors["name"] = problem
    if problem := email_problem(email):
        errors["email"] = problem
    problem = password_problem(password, email=email, name=name)
    if problem:
        errors["password"] = problem
    org = db.get(Organisation, organisation_id) if organisation_id else None
    errors = {**_signup_problems(org, email), **errors}
    if errors:
        raise FormError(errors)
    assert org is not None
    settings = settings or get_settings()
    user = db.exec(select(User).where(User.email == email)).first()
    if user is not None and user.email_confirmed_at is not None:
        hash_password(password)  # as long as a new account takes
        _tell_owner(email, settings)
        return
    if user is None:
        user = User(email=email, name="", password_hash="", partnership_id=org.partnership_id)
    user.name, user.password_hash = name.strip(), hash_password(password)
    user.partnership_id, user.organisation_id = org.partnership_id, org.id
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # the same address signed up at the same moment
        db.rollback()
        _tell_owner(email, settings)
        return
    user.email_confirmed_at = None  # after the insert: None there means "the default"
    assert user.id is not None
    db.exec(  # only the newest link confirms the account
        update(EmailConfirmation)
        .where(col(EmailConfirmation.user_id) == user.id, col(EmailConfirmation.used_at).is_(None))
        .values(used_at=utcnow())
    )
    token, digest = new_token()
    db.add(EmailConfirmation(token_hash=digest, user_id=user.id, expires_at=utcnow() + CONFIRM_FOR))
    db.commit()
    send_mail(
        settings,
        to=email,
        subject="Confirm your email address",
        body=(
            f"Hello {user.name},\n\nTo finish creating your account for {org.name}, confirm "
            f"your email address with this link within {CONFIRM_FOR.days} days:\n\n"
            f"{settings.public_url}/account/confirm/{token}\n\nThe link works once. If you did "
            "not create an account, you can ignore this email.\n"
        ),
    )


def _tell_owner(email: str, settings: Settings) -> None:
    """Tell an account's owner that someone tried to create another with their address."""
    send_mail(
        settings,
        to=email,
        subject="Someone tried to create an account with your email address",
        body=(
            "Hello,\n\nSomeone tried to create an account on trauma-informed practice "
            "learning with this email address, which already has an account. If it was you, "
            f"sign in at {settings.public_url}/account/sign-in or, if you have forgotten your "
            f"password, reset it at {settings.public_url}/account/forgot.\n\n"
            "If it was not you, you can ignore this email: nothing has changed.\n"
        ),
    )


def confirmation_for_token(db: Session, *, token: str) -> EmailConfirmation:
    """The unused, unexpired confirmation for a link token; NotFound otherwise."""
    found = db.get(EmailConfirmation, token_hash(token))
    if found is None or found.used_at is not None or _aware(found.expires_at) < utcnow():
        raise NotFound(
            "This confirmation link has expired or has already been used. Sign in, or reset "
            "your password to be sent a link that works."
        )
    return found


def confirm_email(db: Session, *, token: str) -> User:
    """Confirm an address from its emailed link, once; the account can then be used."""
    found = confirmation_for_token(db, token=token)
    now = utcnow()
    claimed = db.exec(  # once, even when the link is opened twice at the same moment
        update(EmailConfirmation)
        .where(
            col(EmailConfirmation.token_hash) == found.token_hash,
            col(EmailConfirmation.used_at).is_(None),
        )
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        db.rollback()
        raise NotFound("This confirmation link has already been used. Sign in.")
    user = db.get(User, found.user_id)
    assert user is not None
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
        db.add(user)
    db.commit()
    db.refresh(user)
    return user


def change_password(
    db: Session, *, user: User, current: str, new: str, keep_session: str | None
) -> None:
    """Change a password after checking the current one; other sessions are ended."""
    stored = db.get(User, user.id)
    assert stored is not None
    user = stored
    if not verify_password(user.password_hash, current):
        raise FormError({"current_password": "Your current password is not right"})
    problem = password_problem(new, email=user.email, name=user.name)
    if problem:
        raise FormError({"new_password": problem})
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    db.add(user)
    db.commit()
    assert user.id is not None
    end_all_sessions(db, user_id=user.id, keep=keep_session)


def request_password_reset(db: Session, *, email: str, settings: Settings) -> None:
    """Email a reset link if the address has an account; say nothing either way."""
    user = _user_by_email(db, email)
    if user is None or user.id is None:
        return
    recent = db.exec(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            col(PasswordReset.created_at) > utcnow() - timedelta(hours=1),
        )
    ).one()
    if recent >= settings.reset_emails_per_account_per_hour:
        return  # enough links are on their way; more would flood the inbox
    token, digest = new_token()
    expires = utcnow() + timedelta(minutes=settings.reset_link_minutes)
    db.add(PasswordReset(token_hash=digest, user_id=user.id, expires_at=expires))
    db.commit()
    link = f"{settings.public_url}/account/reset/{token}"
    send_mail(
        settings,
        to=user.email,
        subject="Reset your password",
        body=(
            f"Hello {user.name},\n\nSomeone asked to reset the password for your account. "
            f"If it was you, use this link within {settings.reset_link_minutes} minutes:\n\n"
            f"{link}\n\nThe link works once. If you did not ask, you can ignore this email: "
            "your password has not changed.\n"
        ),
    )


def reset_for_token(db: Session, *, token: str) -> PasswordReset:
    """The unused, unexpired reset for a link token; NotFound otherwise."""
    reset = db.get(PasswordReset, token_hash(token))
    if reset is None or reset.used_at is not None or _aware(reset.expires_at) < utcnow():
        raise NotFound(
            "This reset link has expired or has already been used. You can ask for a new one."
        )
    return reset


def complete_password_reset(db: Session, *, token: str, password: str) -> User:
    """Set a new password from a reset link, once; every session is ended."""
    reset = reset_for_token(db, token=token)
    user = db.get(User, reset.user_id)
    assert user is not None and user.id is not None
    problem = password_problem(password, email=user.email, name=user.name)
    if problem:
        raise FormError({"password": problem})
    user.password_hash = hash_password(password)
    user.password_changed_at = reset.used_at = utcnow()
    user.email_confirmed_at = user.email_confirmed_at or reset.used_at  # the link proves it
    db.add_all([user, reset])
    db.exec(  # every other link sent to this person stops working too
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=reset.used_at)
    )
    db.commit()
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    throttle.clear(engine, f"account:{_email_key(user.email)}")  # signing in is open again
    end_all_sessions(db, user_id=user.id)
    return user


def add_invitation(
    db: Session,
    *,
    email: str,
    organisation_id: int,
    team_id: int | None,
    role: str,
    invited_by: int | None,
    settings: Settings,
    name: str | None = None,
) -> str:
    """Add an invitation to the caller's transaction (not committed); returns its token."""
    token, digest = new_token()
    expires = utcnow() + timedelta(days=settings.invitation_days)
    db.add(
        Invitation(
            token_hash=digest,
            email=normalise_email(email),
            name=name or None,
            role=role,
            organisation_id=organisation_id,
            team_id=team_id,
            invited_by_id=invited_by,
            expires_at=expires,
        )
    )
    return token


def renew_invitation(db: Session, *, invitation_id: int, settings: Settings) -> str | None:
    """Give an invitation not yet accepted a fresh link that works for the usual number of
    days, in the caller's transaction; its old link stops working. Returns the new token, or
    None when the invitation has been accepted (checked in the same statement)."""
    token, digest = new_token()
    renewed = db.exec(
        update(Invitation)
        .where(col(Invitation.id) == invitation_id, col(Invitation.accepted_at).is_(None))
        .values(token_hash=digest, expires_at=utcnow() + timedelta(days=settings.invitation_days))
    )
    return token if renewed.rowcount == 1 else None


def send_invitation_email(
    db: Session,
    *,
    email: str,
    organisation_id: int,
    token: str,
    settings: Settings,
    name: str | None = None,
) -> None:
    """Email an invitation's link (after its invitation is committed), greeting them by name
    when the inviter gave one."""
    org = db.get(Organisation, organisation_id)
    link = f"{settings.public_url}/invitations/{token}"
    send_mail(
        settings,
        to=email,
        subject="You are invited to trauma-informed practice learning",
        body=(
            f"Hello{' ' + name if name else ''},\n\n"
            f"You have been invited to join {org.name if org else 'your organisation'} "
            f"on trauma-informed practice learning.\n\nAccept within "
            f"{settings.invitation_days} days:\n\n{link}\n\nThe link works once.\n"
        ),
    )


def create_invitation(
    db: Session,
    *,
    email: str,
    organisation_id: int,
    team_id: int | None,
    role: str,
    invited_by: int | None,
    settings: Settings,
    name: str | None = None,
) -> str:
    """Create an invitation and email its link; returns the link's token."""
    token = add_invitation(
        db,
        email=email,
        organisation_id=organisation_id,
        team_id=team_id,
        role=role,
        invited_by=invited_by,
        settings=settings,
        name=name,
    )
    db.commit()
    send_invitation_email(
        db,
        email=email,
        organisation_id=organisation_id,
        token=token,
        settings=settings,
        name=name,
    )
    return token


def invitation_for_token(db: Session, *, token: str) -> Invitation:
    """The open invitation for a link token; NotFound when used, expired or unknown."""
    invitation = db.exec(
        select(Invitation).where(Invitation.token_hash == token_hash(token))
    ).first()
    if (
        invitation is None
        or invitation.accepted_at is not None
        or _aware(invitation.expires_at) < utcnow()
    ):
        raise NotFound(
            "This invitation has expired or has already been used. "
            "Ask the person who invited you for a new one."
        )
    return invitation


def name_problem(name: str) -> str | None:
    """What is wrong with a name for an account (certificates print it), if anything."""
    from elearn.certificates.pdf import unsupported_characters

    if not name.strip():
        return "Enter your name"
    if len(name) > 200:
        return "Your name must be 200 characters or fewer"
    if _has_control_characters(name):
        return "Your name must not contain control characters such as tabs or line breaks"
    missing = unsupported_characters(name)
    if missing:
        return (
            f"Certificates cannot print {' '.join(missing)}: remove these characters "
            "or write them another way"
        )
    return None


def accept_invitation(db: Session, *, token: str, name: str, password: str) -> User:
    """Create the invited person's account, once."""
    invitation = invitation_for_token(db, token=token)
    errors = {}
    if problem := name_problem(name):
        errors["name"] = problem
    problem = password_problem(password, email=invitation.email, name=name)
    if problem:
        errors["password"] = problem
    if errors:
        raise FormError(errors)
    org = db.get(Organisation, invitation.organisation_id)
    assert org is not None
    if db.exec(select(User).where(User.email == invitation.email)).first():
        raise FormError(
            {"name": "An account already exists for this email address. Sign in instead"}
        )
    user = User(
        name=name.strip(),
        email=invitation.email,
        password_hash=hash_password(password),
        role=invitation.role,
        partnership_id=org.partnership_id,
        organisation_id=org.id,
        team_id=invitation.team_id,
    )
    invitation.accepted_at = utcnow()
    db.add_all([user, invitation])
    if invitation.role == "manager" and invitation.team_id is not None:
        db.flush()
        assert user.id is not None
        db.add(TeamManager(team_id=invitation.team_id, user_id=user.id))
    db.commit()
    db.refresh(user)
    return user
