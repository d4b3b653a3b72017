"""Required training: who must complete what by when, and where each person stands.

A manager sees only the teams they manage, a partnership admin their partnership. Statuses
are computed, never stored: from assignments, completions and lesson progress, in a number of
queries that does not grow with the number of people.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from elearn.content.catalog import Catalog
from elearn.errors import NotFound
from elearn.models import (
    Assignment,
    LessonProgress,
    ModuleCompletion,
    Organisation,
    Partnership,
    QuizAttempt,
    Team,
    TeamManager,
    User,
)

DUE_SOON_DAYS = 30
STATUSES = ("overdue", "expired", "due_soon", "in_progress", "not_started", "completed")
LABELS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "completed": "Completed",
    "due_soon": "Due soon",
    "overdue": "Overdue",
    "expired": "Expired",
}
TAGS = {
    "not_started": "govuk-tag--grey",
    "in_progress": "govuk-tag--blue",
    "completed": "govuk-tag--green",
    "due_soon": "govuk-tag--yellow",
    "overdue": "govuk-tag--red",
    "expired": "govuk-tag--orange",
}


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Standing:
    """Where one person stands on one required module."""

    status: str
    due_on: date
    completed_on: date | None = None
    expires_on: date | None = None
    best_score: int | None = None

    @property
    def label(self) -> str:
        """The status in words."""
        return LABELS[self.status]


def standing(
    *,
    today: date,
    due_on: date,
    recertify_months: int | None,
    completed_on: date | None,
    started: bool,
    best_score: int | None = None,
) -> Standing:
    """The status of a required module. A completion counts until it is more than
    `recertify_months` old (then "expired": due again); without one, the training is
    overdue after its due date, due soon within 30 days of it, else in progress or not started.
    """
    if completed_on is not None:
        expires = add_months(completed_on, recertify_months) if recertify_months else None
        status = "expired" if expires is not None and today > expires else "completed"
        return Standing(status, due_on, completed_on, expires, best_score)
    if today > due_on:
        status = "overdue"
    elif (due_on - today).days <= DUE_SOON_DAYS:
        status = "due_soon"
    else:
        status = "in_progress" if started else "not_started"
    return Standing(status, due_on, None, None, best_score)


# Scope --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a manager or admin may see: a partnership, and within it some teams (or all)."""

    partnership_id: str
    team_ids: tuple[int, ...] | None  # None: every team and person in the partnership

    def allows_team(self, team_id: int | None) -> bool:
        """Whether a team is inside the scope."""
        return self.team_ids is None or (team_id is not None and team_id in self.team_ids)


def scope_of(db: Session, user: User) -> Scope | None:
    """The viewer's scope, or None for people who manage nobody."""
    if user.role == "admin":
        return Scope(user.partnership_id, None)
    if user.role != "manager":
        return None
    teams = db.exec(select(TeamManager.team_id).where(TeamManager.user_id == user.id)).all()
    return Scope(user.partnership_id, tuple(sorted(teams)))


def require_scope(db: Session, user: User) -> Scope:
    """The viewer's scope; NotFound (not "forbidden": nothing to see here) otherwise."""
    scope = scope_of(db, user)
    if scope is None:
        raise NotFound("This page is for managers and partnership admins.")
    return scope


# Filters ------------------------------------------------------------------------------------


@dataclass
class Filters:
    """The matrix filters as asked for, and notes on any that were ignored."""

    partnership: str | None = None
    organisation: int | None = None
    team: int | None = None
    sector: str | None = None
    track: str | None = None
    module: str | None = None
    status: str | None = None
    q: str = ""
    sort: str = "name"
    page: int = 1
    notes: list[str] = field(default_factory=list)

    def query(self, **changes: Any) -> dict[str, str]:
        """The query string for these filters, with some changed (for links)."""
        values: dict[str, Any] = {
            "partnership": self.partnership,
            "organisation": self.organisation,
            "team": self.team,
            "sector": self.sector,
            "track": self.track,
            "module": self.module,
            "status": self.status,
            "q": self.q,
            "sort": self.sort if self.sort != "name" else None,
            "page": self.page if self.page != 1 else None,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


SORTS = {
    "name": "Name",
    "organisation": "Organisation",
    "team": "Team",
    "attention": "Most overdue first",
}


@dataclass(frozen=True)
class Choices:
    """The values each filter can take for this viewer."""

    partnerships: list[tuple[str, str]]  # id, name: the viewer's own
    organisations: list[Organisation]
    teams: list[Team]
    sectors: list[str]
    tracks: list[tuple[str, str, str]]  # course id, track id, title
    modules: list[tuple[str, str, str]]  # course id, module id, title


def choices(db: Session, scope: Scope, catalog: Catalog) -> Choices:
    """Organisations, teams, sectors, tracks and modules the viewer can filter by."""
    organisations = list(
        db.exec(
            select(Organisation)
            .where(Organisation.partnership_id == scope.partnership_id)
            .order_by(col(Organisation.name))
        ).all()
    )
    query = (
        select(Team)
        .join(Organisation, col(Organisation.id) == Team.organisation_id)
        .where(Organisation.partnership_id == scope.partnership_id)
        .order_by(col(Team.name))
    )
    if scope.team_ids is not None:
        query = query.where(col(Team.id).in_(scope.team_ids or (-1,)))
        keep = {t.organisation_id for t in db.exec(query).all()}
        organisations = [o for o in organisations if o.id in keep]
    teams = list(db.exec(query).all())
    tracks = [(c.id, t.id, t.model.title) for c in catalog.courses for t in c.tracks]
    modules = [(c.id, m.id, m.model.title) for c in catalog.courses for m in c.modules.values()]
    partnership = db.get(Partnership, scope.partnership_id)
    return Choices(
        [(scope.partnership_id, partnership.name if partnership else scope.partnership_id)],
        organisations,
        teams,
        sorted({o.sector for o in organisations}),
        tracks,
        modules,
    )


def parse_filters(params: dict[str, str], found: Choices) -> Filters:
    """Filters from a query string; unknown values are dropped with a note saying so."""
    filters = Filters(q=params.get("q", "").strip()[:100])

    def number(name: str, allowed: set[int], what: str) -> int | None:
        raw = params.get(name, "").strip()
        if not raw:
            return None
        if raw.isdigit() and int(raw) in allowed:
            return int(raw)
        filters.notes.append(f"The {what} filter was ignored: there is no such {what} here.")
        return None

    filters.organisation = number(
        "organisation", {o.id for o in found.organisations if o.id}, "organisation"
    )
    filters.team = number("team", {t.id for t in found.teams if t.id}, "team")
    for name, allowed in (
        ("partnership", {p for p, _ in found.partnerships}),
        ("sector", set(found.sectors)),
        ("track", {t for _, t, _ in found.tracks}),
        ("module", {m for _, m, _ in found.modules}),
        ("status", set(LABELS)),
    ):
        raw = params.get(name, "").strip()
        if raw and raw in allowed:
            setattr(filters, name, raw)
        elif raw:
            filters.notes.append(
                f"The {name} filter was ignored: “{raw[:40]}” is not one of its values."
            )
    sort = params.get("sort", "name")
    if sort in SORTS:
        filters.sort = sort
    else:
        filters.notes.append("The sort order was not recognised; people are sorted by name.")
    page = params.get("page", "1")
    filters.page = int(page) if page.isdigit() and int(page) >= 1 else 1
    return filters


# The matrix ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A module that is required of someone in view."""

    course_id: str
    module_id: str
    title: str


@dataclass
class Person:
    """A row of the matrix: a person and where they stand on each required module."""

    user_id: int
    name: str
    email: str
    organisation: str
    team: str
    sector: str
    cells: dict[str, Standing]  # module id -> standing, for modules required of them

    @property
    def attention(self) -> int:
        """How urgently this person needs a nudge: lower sorts first."""
        return min((STATUSES.index(c.status) for c in self.cells.values()), default=len(STATUSES))


@dataclass
class Tiles:
    """The summary above the matrix."""

    people: int = 0
    required: int = 0
    completed: int = 0
    overdue: int = 0
    due_soon: int = 0
    expiring: int = 0

    @property
    def completed_percent(self) -> int:
        """Share of required modules completed (and not expired)."""
        return round(100 * self.completed / self.required) if self.required else 0


@dataclass
class Matrix:
    """A page of the matrix, its columns, the summary, and completions per week."""

    columns: list[Column]
    people: list[Person]
    total: int
    page: int
    pages: int
    tiles: Tiles
    weeks: list[tuple[date, int]]


PER_PAGE = 50


@dataclass(frozen=True)
class Rule:
    module_id: str
    course_id: str
    due_on: date
    recertify_months: int | None


def rules_for(
    db: Session, scope: Scope, catalog: Catalog, filters: Filters
) -> tuple[list[Assignment], dict[int, list[Rule]], list[Column]]:
    """Assignments that can apply to people in scope, each expanded into its modules."""
    query = select(Assignment).where(Assignment.partnership_id == scope.partnership_id)
    if scope.team_ids is not None:  # a manager: their teams, and those teams' organisations
        teams = (-1, *scope.team_ids)
        orgs = select(Team.organisation_id).where(col(Team.id).in_(teams))
        sectors = select(Organisation.sector).where(col(Organisation.id).in_(orgs))
        query = query.where(
            col(Assignment.team_id).in_(teams)
            | col(Assignment.organisation_id).in_(orgs)
            | col(Assignment.sector).in_(sectors)
        )
    assignments = list(db.exec(query).all())
    expanded: dict[int, list[Rule]] = {}
    columns: dict[tuple[str, str], Column] = {}
    for a in assignments:
        course = catalog.course(a.course_id)
        if course is None or a.id is None:
            continue
        if a.track_id:
            if filters.track and a.track_id != filters.track:
                continue
            track = course.track(a.track_id)
            modules = list(track.modules) if track else []
        else:
            found = course.modules.get(a.module_id or "")
            modules = [found] if found else []
        rules = []
        for module in modules:
            if filters.module and module.id != filters.module:
                continue
            rules.append(Rule(module.id, course.id, a.due_on, a.recertify_months))
            columns.setdefault(
                (course.id, module.id), Column(course.id, module.id, module.model.title)
            )
        expanded[a.id] = rules
    return assignments, expanded, list(columns.values())


def people_query(scope: Scope, filters: Filters) -> Any:
    """Everyone in scope who matches the filters, with organisation, team and sector."""
    query = (
        select(  # type: ignore[call-overload]
            User.id,
            User.name,
            User.email,
            User.team_id,
            User.organisation_id,
            Organisation.name,
            Team.name,
            Organisation.sector,
        )
        .join(Organisation, col(Organisation.id) == User.organisation_id)
        .outerjoin(Team, col(Team.id) == User.team_id)
        .where(Organisation.partnership_id == scope.partnership_id)
    )
    if scope.team_ids is not None:
        query = query.where(col(User.team_id).in_(scope.team_ids or (-1,)))
    if filters.organisation:
        query = query.where(User.organisation_id == filters.organisation)
    if filters.team:
        query = query.where(User.team_id == filters.team)
    if filters.sector:
        query = query.where(Organisation.sector == filters.sector)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        query = query.where(func.lower(User.name).like(like) | func.lower(User.email).like(like))
    return query


def facts_for(
    db: Session,
    people: Any,
    module_ids: list[str],
    *,
    with_best: bool = True,
    with_started: bool = True,
) -> tuple[dict[tuple[int, str], date], set[tuple[int, str]], dict[tuple[int, str], int]]:
    """Latest completion, "started" and (if asked) best score per (person, module)."""
    ids = people.with_only_columns(User.id).scalar_subquery()
    modules = module_ids or ["-"]
    done: dict[tuple[int, str], date] = {}
    for user_id, module_id, when in db.exec(
        select(
            ModuleCompletion.user_id,
            ModuleCompletion.module_id,
            func.max(ModuleCompletion.completed_at),
        )
        .where(col(ModuleCompletion.user_id).in_(ids), col(ModuleCompletion.module_id).in_(modules))
        .group_by(col(ModuleCompletion.user_id), col(ModuleCompletion.module_id))
    ).all():
        done[(user_id, module_id)] = _day(when)
    started = started_pairs(db, ids, modules) if with_started else set()
    best = best_scores(db, ids, modules) if with_best else {}
    return done, started, best


def started_pairs(db: Session, ids: Any, module_ids: list[str]) -> set[tuple[int, str]]:
    """(person, module) pairs with at least one lesson opened or skipped."""
    return {
        (user_id, module_id)
        for user_id, module_id in db.exec(
            select(LessonProgress.user_id, LessonProgress.module_id)
            .where(
                col(LessonProgress.user_id).in_(ids), col(LessonProgress.module_id).in_(module_ids)
            )
            .distinct()
        ).all()
    }


def best_scores(db: Session, ids: Any, module_ids: list[str]) -> dict[tuple[int, str], int]:
    """The best quiz score per (person, module), for people given as ids or a subquery."""
    return {
        (user_id, module_id): score
        for user_id, module_id, score in db.exec(
            select(QuizAttempt.user_id, QuizAttempt.module_id, func.max(QuizAttempt.score))
            .where(col(QuizAttempt.user_id).in_(ids), col(QuizAttempt.module_id).in_(module_ids))
            .group_by(col(QuizAttempt.user_id), col(QuizAttempt.module_id))
        ).all()
        if score is not None
    }


def _day(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).date()
    return moment


class Requirements:
    """What the assignments require of each (team, organisation, sector), worked out once
    per combination: people in the same team share it."""

    def __init__(self, assignments: list[Assignment], rules: dict[int, list[Rule]]) -> None:
        self._by: dict[tuple[str, object], list[tuple[int, Rule]]] = defaultdict(list)
        for a in assignments:
            key: tuple[str, object] = (
                ("team", a.team_id)
                if a.team_id is not None
                else ("organisation", a.organisation_id)
                if a.organisation_id is not None
                else ("sector", a.sector)
            )
            self._by[key].extend((a.id or 0, rule) for rule in rules.get(a.id or 0, []))
        self._seen: dict[tuple[object, ...], dict[str, tuple[date, int | None]]] = {}

    def rules(
        self, team_id: int | None, organisation_id: int | None, sector: str
    ) -> list[tuple[int, Rule]]:
        """(assignment id, rule) for every module required of such a person."""
        return (
            self._by.get(("team", team_id), [])
            + self._by.get(("organisation", organisation_id), [])
            + self._by.get(("sector", sector), [])
        )

    def of(
        self, team_id: int | None, organisation_id: int | None, sector: str
    ) -> dict[str, tuple[date, int | None]]:
        """Module id -> (earliest due date, shortest recertification) for such a person."""
        key = (team_id, organisation_id, sector)
        if key not in self._seen:
            due: dict[str, tuple[date, int | None]] = {}
            for _, rule in self.rules(team_id, organisation_id, sector):
                earlier = due.get(rule.module_id)
                if earlier is None:
                    due[rule.module_id] = (rule.due_on, rule.recertify_months)
                else:
                    months = [m for m in (earlier[1], rule.recertify_months) if m]
                    due[rule.module_id] = (min(earlier[0], rule.due_on), min(months, default=None))
            self._seen[key] = due
        return self._seen[key]


def _cells(
    row: Sequence[Any],
    required: Requirements,
    facts: tuple[dict[tuple[int, str], date], set[tuple[int, str]], dict[tuple[int, str], int]],
    today: date,
) -> dict[str, Standing]:
    user_id, _, _, team_id, organisation_id, _, _, sector = row
    done, started, best = facts
    return {
        module_id: standing(
            today=today,
            due_on=due_on,
            recertify_months=months,
            completed_on=done.get((user_id, module_id)),
            started=(user_id, module_id) in started,
            best_score=best.get((user_id, module_id)),
        )
        for module_id, (due_on, months) in required.of(team_id, organisation_id, sector).items()
    }


def _person(row: Sequence[Any], cells: dict[str, Standing]) -> Person:
    user_id, name, email, _, _, organisation, team, sector = row
    return Person(user_id, name, email, organisation, team or "", sector, cells)


def _keep(person: Person, filters: Filters) -> bool:
    if not person.cells:
        return False  # nothing required of them under these filters
    return filters.status is None or any(c.status == filters.status for c in person.cells.values())


def matrix(db: Session, *, scope: Scope, catalog: Catalog, filters: Filters, today: date) -> Matrix:
    """The filtered, sorted page of the people × modules matrix, with its summary."""
    assignments, rules, columns = rules_for(db, scope, catalog, filters)
    required = Requirements(assignments, rules)
    people = people_query(scope, filters)
    rows = db.exec(people).all()
    module_ids = [c.module_id for c in columns]
    # Whether a lesson was opened tells "in progress" from "not started": needed for everyone
    # only when filtering or sorting by it; otherwise just for the page shown, below.
    everyone_started = filters.status in ("in_progress", "not_started") or (
        filters.sort == "attention"
    )
    facts = facts_for(db, people, module_ids, with_best=False, with_started=everyone_started)
    everyone = [_person(r, _cells(r, required, facts, today)) for r in rows]
    kept = [p for p in everyone if _keep(p, filters)]
    keys = {
        "name": lambda p: (p.name.lower(), p.user_id),
        "organisation": lambda p: (p.organisation.lower(), p.name.lower(), p.user_id),
        "team": lambda p: (p.team.lower(), p.name.lower(), p.user_id),
        "attention": lambda p: (p.attention, p.name.lower(), p.user_id),
    }
    kept.sort(key=keys[filters.sort])
    tiles = summarise(kept, today)
    pages = max(1, -(-len(kept) // PER_PAGE))
    page = min(filters.page, pages)
    shown = kept[(page - 1) * PER_PAGE : page * PER_PAGE]
    shown_ids = [p.user_id for p in shown] or [-1]
    best = best_scores(db, shown_ids, module_ids or ["-"])
    started = set() if everyone_started else started_pairs(db, shown_ids, module_ids or ["-"])
    for person in shown:
        person.cells = {
            m: replace(
                c,
                best_score=best.get((person.user_id, m)),
                status="in_progress"
                if c.status == "not_started" and (person.user_id, m) in started
                else c.status,
            )
            for m, c in person.cells.items()
        }
    used = {m for p in kept for m in p.cells}
    return Matrix(
        [c for c in columns if c.module_id in used],
        shown,
        len(kept),
        page,
        pages,
        tiles,
        weekly(kept, today),
    )


def summarise(people: Iterable[Person], today: date) -> Tiles:
    """Completed share of required modules, and people with something overdue, due within
    30 days, or whose completion expires within 30 days."""
    tiles = Tiles()
    soon = today + timedelta(days=DUE_SOON_DAYS)
    for person in people:
        tiles.people += 1
        statuses = [c.status for c in person.cells.values()]
        tiles.required += len(statuses)
        tiles.completed += statuses.count("completed")
        tiles.overdue += "overdue" in statuses or "expired" in statuses
        tiles.due_soon += "due_soon" in statuses
        tiles.expiring += any(
            c.status == "completed" and c.expires_on is not None and c.expires_on <= soon
            for c in person.cells.values()
        )
    return tiles


def weekly(people: Iterable[Person], today: date, weeks: int = 12) -> list[tuple[date, int]]:
    """Completions of required modules per week (weeks starting Monday), the last `weeks`."""
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    counts: dict[date, int] = defaultdict(int)
    for person in people:
        for cell in person.cells.values():
            if cell.completed_on and cell.completed_on >= start:
                monday = cell.completed_on - timedelta(days=cell.completed_on.weekday())
                counts[monday] += 1
    return [(start + timedelta(weeks=i), counts[start + timedelta(weeks=i)]) for i in range(weeks)]


def export_rows(
    db: Session, *, scope: Scope, catalog: Catalog, filters: Filters, today: date
) -> Iterator[list[str]]:
    """The filtered matrix as rows for a CSV file, one per person and required module,
    produced a thousand people at a time so memory does not grow with the export."""
    assignments, rules, columns = rules_for(db, scope, catalog, filters)
    required = Requirements(assignments, rules)
    titles = {c.module_id: c.title for c in columns}
    base = people_query(scope, filters).order_by(col(User.id))
    last = 0
    while True:
        chunk = base.where(col(User.id) > last).limit(1000)
        rows = db.exec(chunk).all()
        if not rows:
            return
        facts = facts_for(db, chunk, list(titles))
        for row in rows:
            person = _person(row, _cells(row, required, facts, today))
            if not _keep(person, filters):
                continue
            for module_id, cell in sorted(person.cells.items()):
                if filters.status and cell.status != filters.status:
                    continue
                yield [
                    person.name,
                    person.email,
                    person.organisation,
                    person.team,
                    person.sector,
                    titles.get(module_id, module_id),
                    cell.label,
                    cell.due_on.isoformat(),
                    cell.completed_on.isoformat() if cell.completed_on else "",
                    cell.expires_on.isoformat() if cell.expires_on else "",
                    "" if cell.best_score is None else str(cell.best_score),
                ]
        last = rows[-1][0]
        db.expunge_all()


EXPORT_HEADER = [
    "Name",
    "Email",
    "Organisation",
    "Team",
    "Sector",
    "Module",
    "Status",
    "Due",
    "Completed",
    "Expires",
    "Best score",
]


def person_in_scope(db: Session, scope: Scope, user_id: int) -> User:
    """A person the viewer may see; NotFound for anyone else."""
    user = db.get(User, user_id)
    org = db.get(Organisation, user.organisation_id) if user and user.organisation_id else None
    if (
        user is None
        or org is None
        or org.partnership_id != scope.partnership_id
        or not scope.allows_team(user.team_id)
    ):
        raise NotFound("There is nobody here by that reference.")
    return user
