"""Tables for runtime state. Course content lives in YAML, never here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class Partnership(SQLModel, table=True):
    """A violence reduction partnership: the top of the organisation tree."""

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    short_name: str = Field(max_length=80)
    position: int = 0


class Organisation(SQLModel, table=True):
    """A school, police force, youth justice service or other employer."""

    id: int | None = Field(default=None, primary_key=True)
    partnership_id: str = Field(foreign_key="partnership.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    sector: str = Field(max_length=40, index=True)
    signup: str = Field(default="open", max_length=20)  # open | domain | invitation
    email_domains: str = Field(default="", max_length=1000)  # comma-separated, for "domain"
    # Archived organisations take no new sign-ups; their people and records are kept.
    archived_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), nullable=True
    )


class Team(SQLModel, table=True):
    """A team inside an organisation."""

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=200)
    archived_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), nullable=True
    )


class User(SQLModel, table=True):
    """A person who signs in: learner, manager, author or partnership admin."""

    # The team view lists everyone of some organisations by name from this index alone.
    __table_args__ = (Index("ix_user_people", "organisation_id", "team_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="learner", max_length=20)
    partnership_id: str = Field(foreign_key="partnership.id", index=True, max_length=40)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    # None until the address is confirmed by an emailed link (sign-ups to organisations
    # limited to email domains); such an account cannot sign in yet.
    email_confirmed_at: datetime | None = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=True
    )
    # A deactivated account cannot sign in and is left out of matrices and reminders; its
    # records are kept. An erased one has had its personal data replaced by a pseudonym.
    deactivated_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), nullable=True
    )
    erased_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), nullable=True)
    last_active_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), nullable=True
    )


class AuditEvent(SQLModel, table=True):
    """Something an admin, a manager or the system did that must be traceable later.

    Append-only: no route changes or deletes one, and on PostgreSQL the database refuses
    updates and deletes except from the retention job (migration 0009)."""

    __table_args__ = (
        Index("ix_auditevent_partnership_at", "partnership_id", "at"),
        Index("ix_auditevent_subject_at", "subject_id", "at"),
        Index("ix_auditevent_actor_at", "actor_id", "at"),
        Index("ix_auditevent_action_at", "action", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=DateTime(timezone=True))
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=80)
    detail: str = Field(default="", max_length=4000)
    # Whose partnership it happened in (None: the whole service) and whom it is about.
    partnership_id: str | None = Field(default=None, max_length=40)
    subject_id: int | None = Field(default=None)
    before: str = Field(default="", max_length=4000)  # JSON of what changed, as it was
    after: str = Field(default="", max_length=4000)  # and as it became


class PrivacyRequest(SQLModel, table=True):
    """A subject access or erasure request (UK GDPR), answered within a month (ICO)."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # access | erasure
    user_id: int = Field(index=True)  # whom it is about (the row survives their erasure)
    partnership_id: str = Field(max_length=40, index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    due_on: date
    channel: str = Field(default="account", max_length=20)  # account | other (email, letter)
    recorded_by_id: int | None = Field(default=None)  # the admin who logged one received otherwise
    note: str = Field(default="", max_length=2000)
    status: str = Field(default="open", max_length=20)  # open | done | refused
    decided_by_id: int | None = Field(default=None)
    decided_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), nullable=True
    )
    reason: str = Field(default="", max_length=2000)


def _when(**kwargs: Any) -> Any:
    """A timezone-aware timestamp column (helper for Field)."""
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class SupportContact(SQLModel, table=True):
    """A helpline or local service shown on a partnership's support page."""

    id: int | None = Field(default=None, primary_key=True)
    partnership_id: str | None = Field(
        default=None, foreign_key="partnership.id", index=True, max_length=40
    )  # None: national, shown to everyone
    position: int = 0
    name: str = Field(max_length=200)
    description: str = Field(max_length=1000)
    phone: str | None = Field(default=None, max_length=40)
    text: str | None = Field(default=None, max_length=80)
    url: str | None = Field(default=None, max_length=500)
    hours: str | None = Field(default=None, max_length=200)


class Invitation(SQLModel, table=True):
    """An emailed link that lets one person join an organisation, once, before it expires."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=320, index=True)
    name: str | None = Field(default=None, max_length=200)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    role: str = Field(default="learner", max_length=20)
    invited_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _when(default_factory=utcnow)
    expires_at: datetime = _when()
    accepted_at: datetime | None = _when(default=None)


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a token; only its SHA-256 is stored."""

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _when(default_factory=utcnow)
    last_seen_at: datetime = _when(default_factory=utcnow)


class KeptForm(SQLModel, table=True):
    """A form that arrived after its sender's session ended, kept until they sign in again.

    Only the browser that sent it holds the token (its SHA-256 is stored), and only the same
    person signing in again completes it; it is deleted when used, replaced or out of date.
    """

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    path: str = Field(max_length=2000)
    body: str  # the form, URL-encoded, without its CSRF token
    created_at: datetime = _when(default_factory=utcnow)


class PasswordReset(SQLModel, table=True):
    """A password reset link: expires, and works once."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = _when(default_factory=utcnow)
    expires_at: datetime = _when()
    used_at: datetime | None = _when(default=None)


class LoginThrottle(SQLModel, table=True):
    """How many sign-in attempts one account or one address has made lately, and when the next
    may be checked. Claimed in one statement before a password is checked (see
    services.throttle), so parallel attempts cannot all slip under the limit."""

    key: str = Field(primary_key=True, max_length=100)  # "account:<sha256>" or "address:<ip>"
    attempts: int = 0
    last_at: int = Field(default=0, sa_type=BigInteger)  # Unix seconds: added to portably
    next_at: int = Field(default=0, sa_type=BigInteger)  # nothing is checked before this


class EmailConfirmation(SQLModel, table=True):
    """An emailed link that confirms a new account's address: expires, and works once."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = _when(default_factory=utcnow)
    expires_at: datetime = _when()
    used_at: datetime | None = _when(default=None)


class Enrolment(SQLModel, table=True):
    """A learner on a track."""

    __table_args__ = (UniqueConstraint("user_id", "course_id", "track_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(max_length=80)
    track_id: str = Field(max_length=80)
    started_at: datetime = _when(default_factory=utcnow)


class LessonProgress(SQLModel, table=True):
    """A lesson a learner opened, or chose to skip for now."""

    __table_args__ = (UniqueConstraint("user_id", "course_id", "module_id", "lesson_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(max_length=80)
    module_id: str = Field(max_length=80)
    lesson_id: str = Field(max_length=80)
    state: str = Field(default="viewed", max_length=10)  # viewed | skipped
    at: datetime = _when(default_factory=utcnow)


class Reflection(SQLModel, table=True):
    """A learner's private answer to a reflection prompt. Only its author ever sees it."""

    __table_args__ = (UniqueConstraint("user_id", "course_id", "module_id", "lesson_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(max_length=80)
    module_id: str = Field(max_length=80)
    lesson_id: str = Field(max_length=80)
    text: str = Field(max_length=20_000)
    updated_at: datetime = _when(default_factory=utcnow)


class QuizAttempt(SQLModel, table=True):
    """One go at a module's quiz: the questions drawn, the answers, the score."""

    __table_args__ = (
        # At most one open (unsubmitted) attempt per learner and module content, even under
        # races: a second "start" finds the first instead of drawing another.
        Index(
            "uq_quizattempt_open",
            "user_id",
            "course_id",
            "module_id",
            "content_hash",
            unique=True,
            sqlite_where=text("submitted_at IS NULL"),
            postgresql_where=text("submitted_at IS NULL"),
        ),
        # Best scores come from the index, not from rows whose answers and review are large.
        Index("ix_quizattempt_best", "user_id", "module_id", "score"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(max_length=80)
    module_id: str = Field(max_length=80, index=True)
    module_version: int
    content_hash: str = Field(max_length=64)
    seed: int
    questions: str = Field(max_length=4000)  # JSON: question ids in the order shown
    started_at: datetime = _when(default_factory=utcnow)
    submitted_at: datetime | None = _when(default=None)
    answers: str | None = Field(default=None, max_length=20_000)  # JSON
    review: str | None = Field(default=None, max_length=200_000)  # JSON: as judged when submitted
    score: int | None = None  # percent
    passed: bool | None = None


class ModuleCompletion(SQLModel, table=True):
    """A module completed, pinned to the version it was earned on. Never edited."""

    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "module_id", "module_version"),
        # The team view reads a person's latest completion of each module from the index.
        Index("ix_modulecompletion_latest", "user_id", "module_id", "completed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(max_length=80)
    module_id: str = Field(max_length=80)
    module_version: int
    content_hash: str = Field(max_length=64)
    attempt_id: int | None = Field(default=None, foreign_key="quizattempt.id")
    completed_at: datetime = _when(default_factory=utcnow)


class TrackCompletion(SQLModel, table=True):
    """A whole track completed. Recorded once, never edited."""

    __table_args__ = (UniqueConstraint("user_id", "course_id", "track_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(max_length=80)
    track_id: str = Field(max_length=80)
    completed_at: datetime = _when(default_factory=utcnow)


class TeamManager(SQLModel, table=True):
    """A manager of a team: they see its people's progress and certificates."""

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)


class Certificate(SQLModel, table=True):
    """A certificate for a completed track: signed, verifiable, never edited except to
    record that it was revoked or superseded by a re-issue."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)  # as printed, e.g. ABCD-EFGH-...
    user_id: int = Field(foreign_key="user.id", index=True)
    partnership_id: str = Field(foreign_key="partnership.id", index=True, max_length=40)
    track_completion_id: int | None = Field(default=None, foreign_key="trackcompletion.id")
    course_id: str = Field(max_length=80)
    track_id: str = Field(max_length=80, index=True)
    holder_name: str = Field(max_length=200)
    completed_on: date
    issued_at: datetime = _when(default_factory=utcnow, index=True)
    payload: str = Field(max_length=20_000)  # the signed canonical JSON
    signature: str = Field(max_length=200)  # base64
    key_id: str = Field(max_length=40)
    sha256: str = Field(max_length=64)  # of the PDF bytes below
    revoked_at: datetime | None = _when(default=None)
    revoked_reason: str | None = Field(default=None, max_length=1000)
    revoked_by_id: int | None = Field(default=None, foreign_key="user.id")
    supersedes_id: int | None = Field(default=None, foreign_key="certificate.id")
    superseded_by_id: int | None = Field(default=None, foreign_key="certificate.id")


class CertificateFile(SQLModel, table=True):
    """The PDF as issued, kept apart so that lists of certificates never load it."""

    certificate_id: int = Field(foreign_key="certificate.id", primary_key=True)
    pdf: bytes = Field(sa_type=LargeBinary)


class Assignment(SQLModel, table=True):
    """Required training: a track or a module that everyone in one scope (a team, an
    organisation, or a sector of a partnership) must complete by a date, and again every
    `recertify_months` if set."""

    id: int | None = Field(default=None, primary_key=True)
    partnership_id: str = Field(foreign_key="partnership.id", index=True, max_length=40)
    course_id: str = Field(max_length=80)
    track_id: str | None = Field(default=None, max_length=80)  # exactly one of track
    module_id: str | None = Field(default=None, max_length=80)  # and module
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    sector: str | None = Field(default=None, max_length=40)  # everyone in the partnership's sector
    due_on: date
    recertify_months: int | None = None
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _when(default_factory=utcnow)


class ReminderSent(SQLModel, table=True):
    """A reminder email sent: to a learner about an assignment, or a digest to a manager
    (no assignment). Kept so that nobody hears about the same thing twice in a week."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", index=True)
    kind: str = Field(max_length=20)  # learner | digest
    sent_at: datetime = _when(default_factory=utcnow, index=True)


class ApiToken(SQLModel, table=True):
    """A token for the read-only reporting API, scoped like the admin who created it."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    created_by_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = _when(default_factory=utcnow)
    last_used_at: datetime | None = _when(default=None)
    revoked_at: datetime | None = _when(default=None)
