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
    ReminderSent,
    Team,
    User,
)
from elearn.services import audit
from elearn.services.scopes import Filters, Scope
from elearn.services.statuses import Standing, Tiles, standing
from elearn.services.summary import attention, chart_weeks, collection_paused, summarise
from elearn.web.inputs import MAX_ID, whole_number

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


def matrix(db: Session, *, scope: Scope, catalog: Catalog, filters: Filters, today: date) -> Matrix:
    """The filtered, sorted page of the people × modules matrix, with its summary.

    Everyone's standing is summed in the database (`summarise`); a `Standing` per cell, best
    scores and lesson progress are worked out only for the page shown."""
    with collection_paused:
        return _matrix(db, scope=scope, catalog=catalog, filters=filters, today=today)


class _Ordered(NamedTuple):
    """Everyone in view who has something required, in the order of the page."""

    required: Requirements
    columns: list[Column]
    people: Any  # the full people query
    ids: list[int]
    tiles: Tiles
    weeks: list[tuple[date, int]]
    used: set[str]


def _ordered(
    db: Session, *, scope: Scope, catalog: Catalog, filters: Filters, today: date
) -> _Ordered:
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
    weeks = list(zip(mondays, weekly, strict=True))
    return _Ordered(required, columns, people, [r[0] for r in kept], tiles, weeks, used)


def _matrix(
    db: Session, *, scope: Scope, catalog: Catalog, filters: Filters, today: date
) -> Matrix:
    found = _ordered(db, scope=scope, catalog=catalog, filters=filters, today=today)
    pages = max(1, -(-len(found.ids) // PER_PAGE))
    page = min(filters.page, pages)
    shown_ids = found.ids[(page - 1) * PER_PAGE : page * PER_PAGE]
    on_page = found.people.where(col(User.id).in_(shown_ids or [-1]))
    full = {r[0]: r for r in db.connection().execute(on_page).all()}
    facts = facts_for(db, on_page, [c.module_id for c in found.columns])
    shown = [
        _person(full[i], _cells(full[i], found.required, facts, today))
        for i in shown_ids
        if i in full
    ]
    return Matrix(
        [c for c in found.columns if c.module_id in found.used],
        shown,
        len(found.ids),
        page,
        pages,
        found.tiles,
        found.weeks,
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


def sector_name(sector: str) -> str:
    """A sector as people read it: "youth-justice" -> "Youth justice"."""
    return sector.replace("-", " ").capitalize()


def export_rows(
    db: Session, *, scope: Scope, catalog: Catalog, filters: Filters, today: date
) -> Iterator[list[str]]:
    """The filtered matrix as rows for a CSV file, one per person and required module: people
    in the order of the page, their modules in the order of the columns. Rows are produced a
    thousand people at a time so memory holds only the order, not the export."""
    found = _ordered(db, scope=scope, catalog=catalog, filters=filters, today=today)
    titles = {c.module_id: c.title for c in found.columns}
    place = {c.module_id: i for i, c in enumerate(found.columns)}
    for start in range(0, len(found.ids), 1000):
        ids = found.ids[start : start + 1000]
        chunk = found.people.where(col(User.id).in_(ids))
        full = {r[0]: r for r in db.exec(chunk).all()}
        facts = facts_for(db, chunk, list(titles))
        for user_id in ids:
            row = full.get(user_id)
            if row is None:
                continue
            person = _person(row, _cells(row, found.required, facts, today))
            for module_id, cell in sorted(
                person.cells.items(), key=lambda item: (place.get(item[0], len(place)), item[0])
            ):
                if filters.status and cell.status != filters.status:
                    continue
                yield [
                    person.name,
                    person.email,
                    person.organisation,
                    person.team,
                    sector_name(person.sector),
                    titles.get(module_id, module_id),
                    cell.label,
                    cell.due_on.isoformat(),
                    cell.completed_on.isoformat() if cell.completed_on else "",
                    cell.expires_on.isoformat() if cell.expires_on else "",
                    "" if cell.best_score is None else f"{cell.best_score}%",
                ]
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


# Setting required training ------------------------------------------------------------------

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
YEARS_AHEAD = 10  # a due date further off than this is a typing slip


def due_date(
    day: str, month: str, year: str, *, today: date
) -> tuple[date | None, str, tuple[str, ...]]:
    """A due date typed as day, month and year: (the date, "", ()) or (None, the message,
    the parts to correct, of "day", "month" and "year")."""
    parts = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    everything = ("day", "month", "year")
    missing = tuple(name for name, value in parts.items() if not value)
    if len(missing) == 3:
        return None, "Enter the due date", everything
    if missing:
        return None, f"Due date must include a {' and '.join(missing)}", missing
    number = MONTHS.get(parts["month"].lower().rstrip("."))
    month_value = str(number) if number else parts["month"]
    for name, value in (("day", parts["day"]), ("month", month_value)):
        if not (value.isascii() and value.isdigit() and len(value) <= 2):
            return None, "Due date must be a real date", (name,)
    if not (parts["year"].isascii() and parts["year"].isdigit()):
        return None, "Due date must be a real date", ("year",)
    if len(parts["year"]) != 4:
        return None, "Year must be 4 numbers", ("year",)
    try:
        when = date(int(parts["year"]), int(month_value), int(parts["day"]))
    except ValueError:
        return None, "Due date must be a real date", everything
    if when < today:
        return None, "Due date must be today or in the future", everything
    if when.year > today.year + YEARS_AHEAD:
        return None, f"Due date must be within the next {YEARS_AHEAD} years", ("year",)
    return when, "", ()


def recertify_months(raw: str) -> tuple[int | None, str]:
    """How often training is needed again, typed as months: (months or None, "") or (None,
    the message)."""
    months = raw.strip()
    if not months:
        return None, ""
    number = whole_number(months, low=1, high=120)
    if number is not None:
        return number, ""
    return None, "Enter a whole number of months from 1 to 120, or leave it empty"


def assignment_in_scope(db: Session, scope: Scope, assignment_id: int) -> Assignment:
    """Required training the viewer may change or remove: a manager's own teams' only, an
    admin's whole partnership; NotFound for any other."""
    in_range = 0 < assignment_id <= MAX_ID
    assignment = db.get(Assignment, assignment_id) if in_range else None
    if (
        assignment is None
        or assignment.partnership_id != scope.partnership_id
        or (scope.team_ids is not None and not scope.allows_team(assignment.team_id))
    ):
        raise NotFound("There is no such required training among yours.")
    return assignment


def same_requirement(db: Session, assignment: Assignment) -> Assignment | None:
    """Another assignment requiring the same track or module of the same team, organisation
    or sector, if there is one."""
    query = select(Assignment).where(
        Assignment.partnership_id == assignment.partnership_id,
        Assignment.course_id == assignment.course_id,
        Assignment.track_id == assignment.track_id,
        Assignment.module_id == assignment.module_id,
        Assignment.team_id == assignment.team_id,
        Assignment.organisation_id == assignment.organisation_id,
        Assignment.sector == assignment.sector,
    )
    if assignment.id is not None:
        query = query.where(Assignment.id != assignment.id)
    return db.exec(query.order_by(col(Assignment.id))).first()


def _audit(
    db: Session,
    actor: User,
    action: str,
    assignment: Assignment,
    before: dict[str, Any] | None = None,
) -> None:
    detail: dict[str, Any] = {
        "assignment_id": assignment.id,
        "course_id": assignment.course_id,
        "track_id": assignment.track_id,
        "module_id": assignment.module_id,
        "team_id": assignment.team_id,
        "organisation_id": assignment.organisation_id,
        "sector": assignment.sector,
        "due_on": assignment.due_on.isoformat(),
        "recertify_months": assignment.recertify_months,
    }
    after = {key: detail[key] for key in before} if before else None
    audit.record(db, actor=actor, action=action, before=before, after=after, **detail)


def add_assignment(db: Session, *, actor: User, assignment: Assignment) -> Assignment:
    """Save new required training, with an audit entry."""
    db.add(assignment)
    db.flush()
    _audit(db, actor, "assignment.create", assignment)
    db.commit()
    db.refresh(assignment)
    return assignment


def change_assignment(
    db: Session,
    *,
    actor: User,
    assignment: Assignment,
    due_on: date,
    recertify_months: int | None,
) -> Assignment:
    """Change when required training is due and how often again, with an audit entry that
    keeps what it was before."""
    before = {
        "due_on": assignment.due_on.isoformat(),
        "recertify_months": assignment.recertify_months,
    }
    assignment.due_on = due_on
    assignment.recertify_months = recertify_months
    db.add(assignment)
    _audit(db, actor, "assignment.change", assignment, before=before)
    db.commit()
    db.refresh(assignment)
    return assignment


def remove_assignment(db: Session, *, actor: User, assignment: Assignment) -> None:
    """Stop requiring something, with an audit entry; completions already recorded are kept,
    and so is the fact that reminders were sent (no longer tied to it)."""
    _audit(db, actor, "assignment.remove", assignment)
    for sent in db.exec(
        select(ReminderSent).where(ReminderSent.assignment_id == assignment.id)
    ).all():
        sent.assignment_id = None
        db.add(sent)
    db.delete(assignment)
    db.commit()
