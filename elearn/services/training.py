"""Required training: who must complete what by when, and where each person stands.

Statuses are computed, never stored: from assignments, completions and lesson progress. The
team view reads everyone's standing in bulk (`summary`) and works cell by cell only for the
page shown, in a number of queries that does not grow with the number of people (except one
more per 1,000 people whose urgency order or status filter needs their lesson progress).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from elearn.content.catalog import Catalog
from elearn.errors import NotFound
from elearn.models import (
    Assignment,
    LessonProgress,
    ModuleCompletion,
    Organisation,
    QuizAttempt,
    Team,
    User,
)
from elearn.services.scopes import Filters, Scope
from elearn.services.statuses import Standing, Tiles, standing
from elearn.services.summary import attention, chart_weeks, collection_paused, summarise

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


class Rule(NamedTuple):
    """A module an assignment requires, by when, and how often again."""

    module_id: str
    course_id: str
    due_on: date
    recertify_months: int | None


def rules_for(
    db: Session, scope: Scope, catalog: Catalog, filters: Filters
) -> tuple[list[Any], dict[int, list[Rule]], list[Column]]:
    """Assignments that can apply to people in scope (rows with an assignment's fields),
    each expanded into its modules."""
    table = Assignment.__table__  # type: ignore[attr-defined]
    query = select_columns(table).where(table.c.partnership_id == scope.partnership_id)
    if scope.team_ids is not None:  # a manager: their teams, and those teams' organisations
        teams = (-1, *scope.team_ids)
        orgs = select(Team.organisation_id).where(col(Team.id).in_(teams))
        sectors = select(Organisation.sector).where(col(Organisation.id).in_(orgs))
        query = query.where(
            table.c.team_id.in_(teams)
            | table.c.organisation_id.in_(orgs)
            | table.c.sector.in_(sectors)
        )
    assignments = list(db.connection().execute(query).all())
    expanded: dict[int, list[Rule]] = {}
    columns: dict[tuple[str, str], Column] = {}
    modules_of: dict[tuple[str, str | None, str | None], list[str]] = {}  # shared by many
    for a in assignments:
        if a.track_id and filters.track and a.track_id != filters.track:
            continue
        what = (a.course_id, a.track_id, a.module_id)
        if what not in modules_of:
            course = catalog.course(a.course_id)
            found = []
            if course is not None and a.track_id:
                track = course.track(a.track_id)
                found = list(track.modules) if track else []
            elif course is not None and a.module_id in course.modules:
                found = [course.modules[a.module_id]]
            found = [m for m in found if not filters.module or m.id == filters.module]
            for m in found:
                columns.setdefault((a.course_id, m.id), Column(a.course_id, m.id, m.model.title))
            modules_of[what] = [m.id for m in found]
        expanded[a.id] = [
            Rule(m, a.course_id, a.due_on, a.recertify_months) for m in modules_of[what]
        ]
    return assignments, expanded, list(columns.values())


def people_query(scope: Scope, filters: Filters, *, brief: bool = False) -> Any:
    """Everyone in scope who matches the filters: id, name, email, team id, organisation
    id, organisation, team and sector; `brief`: id, name, team id, organisation id, sector."""
    if brief:
        query: Any = select_columns(
            col(User.id), col(User.name), col(User.team_id), col(User.organisation_id)
        ).add_columns(col(Organisation.sector))
        query = query.join(Organisation, col(Organisation.id) == User.organisation_id)
    else:
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
        )
    query = query.where(Organisation.partnership_id == scope.partnership_id)
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

    def __init__(self, assignments: Sequence[Any], rules: dict[int, list[Rule]]) -> None:
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
    """The filtered, sorted page of the people × modules matrix, with its summary.

    Everyone's standing is summed in the database (`summarise`); a `Standing` per cell, best
    scores and lesson progress are worked out only for the page shown."""
    with collection_paused:
        return _matrix(db, scope=scope, catalog=catalog, filters=filters, today=today)


def _matrix(
    db: Session, *, scope: Scope, catalog: Catalog, filters: Filters, today: date
) -> Matrix:
    assignments, rules, columns = rules_for(db, scope, catalog, filters)
    required = Requirements(assignments, rules)
    people = people_query(scope, filters)
    # Everyone in view, with just what sorting and requirements need; names of organisations
    # and teams come from the (few) organisations and teams, the rest for the page shown.
    rows = db.connection().execute(people_query(scope, filters, brief=True)).all()
    mondays = chart_weeks(today)
    statuses, tiles, weekly, used = summarise(
        db,
        people,
        rows,
        required,
        today,
        mondays,
        wanted=filters.status,
        attention=filters.sort == "attention",
    )
    kept = [r for r in rows if r[0] in statuses]
    kept.sort(key=_sort_key(db, scope, filters.sort, statuses))
    pages = max(1, -(-len(kept) // PER_PAGE))
    page = min(filters.page, pages)
    shown_ids = [r[0] for r in kept[(page - 1) * PER_PAGE : page * PER_PAGE]]
    on_page = people.where(col(User.id).in_(shown_ids or [-1]))
    full = {r[0]: r for r in db.connection().execute(on_page).all()}
    facts = facts_for(db, on_page, [c.module_id for c in columns])
    shown = [
        _person(full[i], _cells(full[i], required, facts, today)) for i in shown_ids if i in full
    ]
    return Matrix(
        [c for c in columns if c.module_id in used],
        shown,
        len(kept),
        page,
        pages,
        tiles,
        list(zip(mondays, weekly, strict=True)),
    )


def _sort_key(db: Session, scope: Scope, sort: str, statuses: dict[int, int]) -> Any:
    """The key to sort (id, name, team id, organisation id, sector) rows by."""
    if sort == "attention":
        return lambda r: (attention(statuses[r[0]]), r[1].lower(), r[0])
    if sort == "name":
        return lambda r: (r[1].lower(), r[0])
    if sort == "organisation":
        query = select(Organisation.id, Organisation.name)
        place = 3
    else:
        query = select(Team.id, Team.name).join(
            Organisation, col(Organisation.id) == Team.organisation_id
        )
        place = 2
    names = {
        i: name.lower()
        for i, name in db.exec(query.where(Organisation.partnership_id == scope.partnership_id))
    }
    return lambda r: (names.get(r[place], ""), r[1].lower(), r[0])


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
