"""Demo data: both partnerships, a few organisations and teams, and one person per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session, select

from elearn.models import Organisation, Partnership, Team, User
from elearn.services.passwords import hash_password

PARTNERSHIPS = {
    "nottinghamshire": (
        "Nottingham and Nottinghamshire Violence Reduction Unit",
        "Nottinghamshire",
    ),
    "leicestershire": ("Leicestershire Violence Reduction Network", "Leicestershire"),
}
ORGANISATIONS = {
    "nottinghamshire": [
        ("Riverside Academy", "education", ["Year 7 pastoral team", "Inclusion team"]),
        ("Nottinghamshire Police: City division", "police", ["Response team A", "Custody suite"]),
        ("Nottingham Youth Justice Service", "youth-justice", ["Case management"]),
    ],
    "leicestershire": [
        ("Soar Valley Primary School", "education", ["Teaching staff"]),
        ("Leicestershire Police: North area", "police", ["Neighbourhood team"]),
        ("Leicestershire Youth Justice Service", "youth-justice", ["Prevention team"]),
    ],
}
T = TypeVar("T")
ROLES = ("learner", "manager", "author", "admin")


@dataclass(frozen=True)
class DemoLogin:
    """A demo account and the password it was given in this run."""

    email: str
    password: str
    role: str
    partnership: str


def _get_or_add(session: Session, found: T | None, new: T) -> T:
    if found is not None:
        return found
    session.add(new)
    session.flush()
    return new


def seed_demo(session: Session) -> list[DemoLogin]:
    """Create (or refresh) demo data; every demo account gets a new random password."""
    logins = []
    for pid, (name, short) in PARTNERSHIPS.items():
        partnership = _get_or_add(
            session, session.get(Partnership, pid), Partnership(id=pid, name=name, short_name=short)
        )
        first_team: Team | None = None
        first_org: Organisation | None = None
        for org_name, sector, teams in ORGANISATIONS[pid]:
            org = _get_or_add(
                session,
                session.exec(select(Organisation).where(Organisation.name == org_name)).first(),
                Organisation(partnership_id=partnership.id, name=org_name, sector=sector),
            )
            for team_name in teams:
                team = _get_or_add(
                    session,
                    session.exec(
                        select(Team).where(Team.organisation_id == org.id, Team.name == team_name)
                    ).first(),
                    Team(organisation_id=org.id, name=team_name),  # type: ignore[arg-type]
                )
                first_team = first_team or team
            first_org = first_org or org
        for role in ROLES:
            email = f"{role}@{pid}.demo.example"
            password = secrets.token_urlsafe(12)
            user = session.exec(select(User).where(User.email == email)).first()
            if user is None:
                user = User(
                    email=email,
                    name=f"Demo {role.capitalize()} ({short})",
                    password_hash="",
                    role=role,
                    partnership_id=pid,
                )
                if role in ("learner", "manager") and first_org and first_team:
                    user.organisation_id, user.team_id = first_org.id, first_team.id
            user.password_hash = hash_password(password)
            session.add(user)
            logins.append(DemoLogin(email, password, role, short))
    session.commit()
    return logins
