"""Demo data: both partnerships, a few organisations and teams, and one person per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlmodel import Session, col, select

from elearn.config import Settings
from elearn.content.catalog import Catalog, CourseView, ModuleView
from elearn.models import (
    Assignment,
    Organisation,
    Partnership,
    QuizAttempt,
    Team,
    TeamManager,
    User,
    utcnow,
)
from elearn.services import progress, quiz
from elearn.services.passwords import hash_password

PARTNERSHIPS = {
    "nottinghamshire": (
        "Nottingham and Nottinghamshire Violence Reduction Partnership",
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
            if role == "manager" and user.team_id is not None:
                session.flush()
                assert user.id is not None
                if session.get(TeamManager, (user.team_id, user.id)) is None:
                    session.add(TeamManager(team_id=user.team_id, user_id=user.id))
            logins.append(DemoLogin(email, password, role, short))
    session.commit()
    return logins


STAGES = (("new", 0), ("midway", 1), ("finished", None))  # modules to complete; None: all


def _correct_answers(module: ModuleView, attempt: QuizAttempt) -> dict[str, list[str]]:
    return {
        shown.question.id: quiz.form_values(shown, quiz.right_keys(shown.question))
        for shown in quiz.shown_questions(module, attempt)
    }


def _complete_module(
    db: Session, settings: Settings, user_id: int, course: CourseView, module: ModuleView
) -> None:
    for lesson in module.model.lessons:
        progress.record_lesson(
            db,
            settings=settings,
            user_id=user_id,
            course=course,
            module=module,
            lesson_id=lesson.id,
        )
    if module.model.quiz is not None:
        attempt = quiz.start_attempt(db, user_id=user_id, course=course, module=module)
        assert attempt.id is not None
        quiz.submit(
            db,
            settings=settings,
            user_id=user_id,
            course=course,
            module=module,
            attempt_id=attempt.id,
            answers=_correct_answers(module, attempt),
        )


def seed_learners(db: Session, catalog: Catalog, settings: Settings) -> list[DemoLogin]:
    """Learners at every stage (new, midway, finished) in each partnership, with logins."""
    if not catalog.courses:
        return []
    course = catalog.courses[0]
    logins = []
    for pid, (_, short) in PARTNERSHIPS.items():
        org = db.exec(
            select(Organisation)
            .where(Organisation.partnership_id == pid)
            .order_by(col(Organisation.id))
        ).first()
        assert org is not None and org.id is not None
        team = db.exec(select(Team).where(Team.organisation_id == org.id)).first()
        track = course.track(org.sector) or course.tracks[0]
        if (
            team is not None
            and not db.exec(select(Assignment).where(Assignment.team_id == team.id)).first()
        ):
            db.add(  # so that the demo manager's team view has something to show
                Assignment(
                    partnership_id=pid,
                    course_id=course.id,
                    track_id=track.id,
                    team_id=team.id,
                    due_on=utcnow().date() + timedelta(days=21),
                    recertify_months=12,
                )
            )
            db.commit()
        for stage, modules in STAGES:
            email = f"{stage}.learner@{pid}.demo.example"
            password = secrets.token_urlsafe(12)
            user = db.exec(select(User).where(User.email == email)).first()
            fresh = user is None
            if user is None:
                user = User(
                    email=email,
                    name=f"Demo {stage} learner ({short})",
                    password_hash="",
                    partnership_id=pid,
                    organisation_id=org.id,
                    team_id=team.id if team else None,
                )
            user.password_hash = hash_password(password)
            db.add(user)
            db.commit()
            db.refresh(user)
            assert user.id is not None
            logins.append(DemoLogin(email, password, f"{stage} learner", short))
            if not fresh or stage == "new":
                continue
            progress.enrol(db, user_id=user.id, course=course, track_id=track.id)
            chosen = track.modules if modules is None else track.modules[:modules]
            for module in chosen:
                _complete_module(db, settings, user.id, course, module)
            if modules is not None and len(track.modules) > modules:
                following = track.modules[modules]
                progress.record_lesson(
                    db,
                    settings=settings,
                    user_id=user.id,
                    course=course,
                    module=following,
                    lesson_id=following.model.lessons[0].id,
                )
    return logins
