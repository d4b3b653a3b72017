"""Tables for runtime state. Course content lives in YAML, never here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class Partnership(SQLModel, table=True):
    """A violence reduction partnership: the top of the organisation tree."""

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    short_name: str = Field(max_length=80)


class Organisation(SQLModel, table=True):
    """A school, police force, youth justice service or other employer."""

    id: int | None = Field(default=None, primary_key=True)
    partnership_id: str = Field(foreign_key="partnership.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    sector: str = Field(max_length=40, index=True)


class Team(SQLModel, table=True):
    """A team inside an organisation."""

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=200)


class User(SQLModel, table=True):
    """A person who signs in: learner, manager, author or partnership admin."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="learner", max_length=20)
    partnership_id: str = Field(foreign_key="partnership.id", index=True, max_length=40)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class AuditEvent(SQLModel, table=True):
    """Something an admin or the system did that must be traceable later."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=DateTime(timezone=True))
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=80)
    detail: str = Field(default="", max_length=4000)
