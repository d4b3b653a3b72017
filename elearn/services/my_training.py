"""A learner's own required training: each track or module their team, organisation or
sector requires, who requires it, and where they stand, most urgent first. Statuses come
from `statuses.standing`; the queries do not grow with the number of requirements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_
from sqlmodel import Session, col, select

from elearn.content.catalog import Catalog, CourseView, ModuleView
from elearn.models import Assignment, Organisation, Team, User
from elearn.services import statuses, training


@dataclass(frozen=True)
class Required:
    """One requirement as the learner sees it."""

    title: str
    kind: str  # "track" or "module"
    required_by: str
    standing: statuses.Standing
    url: str


def _requirer(a: Assignment, team: Team | None, org: Organisation | None) -> str:
    if a.team_id is not None:
        return f"your team, {team.name}" if team else "your team"
    if a.organisation_id is not None:
        return org.name if org else "your organisation"
    return f"the {training.sector_name(a.sector or '').lower()} sector"


def _module_url(course: CourseView, module: ModuleView, enrolled: set[str]) -> str:
    tracks = [t for t in course.tracks if any(m.id == module.id for m in t.modules)]
    tracks.sort(key=lambda t: t.id not in enrolled)
    track = tracks[0].id if tracks else ""
    return f"/courses/{course.id}/{track}/{module.id}"


def _combined(cells: list[statuses.Standing], due_on: date) -> statuses.Standing:
    """A track's standing: its most urgent module's, in progress once any module is done."""
    worst = min(cells, key=lambda c: statuses.STATUSES.index(c.status))
    if worst.status == "not_started" and any(c.status != "not_started" for c in cells):
        return statuses.Standing("in_progress", due_on)
    if worst.status == "completed":
        expiries = [c.expires_on for c in cells if c.expires_on]
        done = max(c.completed_on for c in cells if c.completed_on)
        return statuses.Standing("completed", due_on, done, min(expiries, default=None))
    return worst


def required_of(
    db: Session, *, user: User, catalog: Catalog, enrolled: set[str], today: date
) -> list[Required]:
    """What is required of this learner, most urgent first."""
    org = db.get(Organisation, user.organisation_id) if user.organisation_id else None
    team = db.get(Team, user.team_id) if user.team_id else None
    applies = [col(Assignment.team_id) == user.team_id] if user.team_id else []
    if org is not None:
        applies += [col(Assignment.organisation_id) == org.id, col(Assignment.sector) == org.sector]
    if not applies:
        return []
    assignments = db.exec(
        select(Assignment).where(
            col(Assignment.partnership_id) == user.partnership_id, or_(*applies)
        )
    ).all()
    wanted: list[tuple[Assignment, CourseView, list[ModuleView], str, str]] = []
    for a in assignments:
        course = catalog.course(a.course_id)
        if course is None:
            continue
        if a.track_id:
            track = course.track(a.track_id)
            if track is None:
                continue
            url = f"/courses/{course.id}/{track.id}"
            wanted.append((a, course, list(track.modules), track.model.title, url))
        elif a.module_id in course.modules:
            module = course.modules[a.module_id]
            url = _module_url(course, module, enrolled)
            wanted.append((a, course, [module], module.model.title, url))
    module_ids = sorted({m.id for w in wanted for m in w[2]})
    person = select(User).where(col(User.id) == user.id)
    done, started, _ = training.facts_for(db, person, module_ids, with_best=False)
    found = []
    for a, _course, modules, title, url in wanted:
        cells = [
            statuses.standing(
                today=today,
                due_on=a.due_on,
                recertify_months=a.recertify_months,
                completed_on=done.get((user.id or 0, m.id)),
                started=(user.id or 0, m.id) in started,
            )
            for m in modules
        ]
        if not cells:
            continue
        found.append(
            Required(
                title=title,
                kind="track" if a.track_id else "module",
                required_by=_requirer(a, team, org),
                standing=_combined(cells, a.due_on),
                url=url,
            )
        )
    found.sort(key=lambda r: (statuses.STATUSES.index(r.standing.status), r.standing.due_on))
    return found
