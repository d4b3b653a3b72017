"""Required training: who must complete what by when, and where each person stands.

A manager sees only the teams they manage, a partnership admin their partnership. Statuses
are computed, never stored: from assignments, completions and lesson progress, in a number of
queries that does not grow with the number of people.
"""

from __future__ import annotations

import calendar
import gc
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import DateTime, String, case, cast, distinct, func, literal, literal_column, true
from sqlalchemy import select as select_columns
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


def _attention(statuses: int) -> int:
    """The most urgent status's place in STATUSES (bit i: STATUSES[i]); lower sorts first."""
    return (statuses & -statuses).bit_length() - 1 if statuses else len(STATUSES)


_BIT = {status: 1 << i for i, status in enumerate(STATUSES)}
_BITS_PER_COLUMN = 60  # packed into integers that fit a signed 64-bit column in both databases


def _first_day(months: int, target: date, *, after: bool) -> date:
    """The earliest completion day whose expiry (`months` later) is on or after `target`
    (`after`: strictly after it). Expiry dates never go down as completion days go up."""
    day = add_months(target, -months) - timedelta(days=40)
    while not (add_months(day, months) > target if after else add_months(day, months) >= target):
        day += timedelta(days=1)
    return day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _sortable(db: Session, module: Any) -> Any:
    """The module id compared byte by byte, the order Python sorts ids in."""
    return module.collate("C" if _postgres(db) else "BINARY")


class _Packing:
    """Which modules a person completed in which time band, as bits of a few integers the
    database adds up per person: bit (band × number of modules + module's place) of the
    whole, cut into columns of 60 bits. Bands are [start, next start); times before the
    first start set no bit. Python gets one row per person and unpacks one mask per band."""

    def __init__(self, modules: Sequence[str], starts: Sequence[datetime]) -> None:
        self.modules = sorted(modules)
        self.starts = list(starts)
        self.width = len(self.modules)
        self.place = {m: i for i, m in enumerate(self.modules)}

    def columns(self, db: Session, at: Any, module: Any) -> list[Any]:
        """The aggregate columns: bitwise OR over a person's rows (`at`, `module`)."""
        postgres = _postgres(db)
        module = _sortable(db, module)
        found = []
        for first in range(0, len(self.starts) * self.width, _BITS_PER_COLUMN):
            bands = [
                band
                for band in range(len(self.starts))
                if band * self.width < first + _BITS_PER_COLUMN and (band + 1) * self.width > first
            ]
            whens: list[tuple[Any, Any]] = []
            if self.starts[bands[0]] > _midnight(date(1, 1, 1)):
                whens.append((at < self.stamp(bands[0]), literal_column("0")))
            for band in bands:
                places = [
                    (m, 1 << (band * self.width + place - first))
                    for place, m in enumerate(self.modules)
                    if 0 <= band * self.width + place - first < _BITS_PER_COLUMN
                ]
                end = at < self.stamp(band + 1) if band + 1 < len(self.starts) else true()
                whens.append((end, _lookup(module, places)))
            value = case(*whens, else_=literal_column("0"))
            found.append(func.bit_or(value) if postgres else func.sum(distinct(value)))
        return found

    def stamp(self, band: int) -> Any:
        return literal(self.starts[band], DateTime(timezone=True))

    def unpack(self, values: Sequence[int | None]) -> list[int]:
        """One mask per band: bit i set when self.modules[i] has a row in that band."""
        whole = 0
        for i, v in enumerate(values):
            if v:
                whole |= int(v) << (i * _BITS_PER_COLUMN)
        full = (1 << self.width) - 1
        return [(whole >> (band * self.width)) & full for band in range(len(self.starts))]

    def mask(self, modules: Iterable[str]) -> int:
        """The bits of these modules."""
        return sum(1 << self.place[m] for m in set(modules) if m in self.place)


def _lookup(module: Any, values: list[tuple[str, int]], other: str = "0") -> Any:
    """CASE expression: the value for the module (pairs sorted by module id), `other` (SQL)
    for any other; a binary search on the id, so each row costs a few comparisons."""
    if len(values) <= 3:
        return case(
            {m: literal_column(str(value)) for m, value in values},
            value=module,
            else_=literal_column(other),
        )
    middle = len(values) // 2
    return case(
        (module < values[middle][0], _lookup(module, values[:middle], other)),
        else_=_lookup(module, values[middle:], other),
    )


def _week_of(at: Any, mondays: Sequence[datetime], first: int = 0) -> Any:
    """CASE expression: the number of the week `at` falls in (`at` on or after mondays[0])."""
    if len(mondays) == 1:
        return literal_column(str(first))
    middle = len(mondays) // 2
    return case(
        (
            at < literal(mondays[middle], DateTime(timezone=True)),
            _week_of(at, mondays[:middle], first),
        ),
        else_=_week_of(at, mondays[middle:], first + middle),
    )


def _latest_first(masks: Sequence[int]) -> list[int]:
    """Band masks with each module kept only in the latest band it appears in."""
    later = 0
    kept = [0] * len(masks)
    for band in range(len(masks) - 1, -1, -1):
        kept[band] = masks[band] & ~later
        later |= masks[band]
    return kept


@dataclass(frozen=True)
class _Profile:
    """What a (team, organisation, sector) requires, as module masks of a packing."""

    required: int
    count: int  # modules required
    overdue: int  # due date passed
    due_soon: int  # due within 30 days
    later: int
    valid_in: tuple[int, ...]  # per period band: modules a completion then still counts for
    expiring_in: tuple[int, ...]  # per period band: ... and expires within 30 days


def _summary(
    db: Session,
    people: Any,
    rows: Iterable[Sequence[Any]],
    required: Requirements,
    today: date,
    mondays: list[date],
    *,
    wanted: str | None,
    attention: bool,
) -> tuple[dict[int, int], Tiles, list[int], set[str]]:
    """Where everyone in `rows` (id, name, team id, organisation id, sector) stands: the
    statuses of each person kept (bit i: STATUSES[i]; people with nothing required, or
    without the `wanted` status, are left out), the tiles and completions per week over
    them, and the modules required of any of them. One query reads every completion of the
    people in scope once and returns one row per person, whatever the number of modules.

    Statuses depend on today only through a few dates: a completion counts until
    `_first_day(months, today)`, expires within 30 days before `_first_day(months, today +
    30 days)`. Those dates cut time into bands; the database packs, per person, which modules
    were completed in which band (and in which week of the chart), and Python reads each
    person's requirements (worked out once per team, organisation and sector) against that.
    `attention`: the order will be by urgency (which lesson progress can decide)."""
    soon = today + timedelta(days=DUE_SOON_DAYS)
    by_key = {key: due for key in {(r[2], r[3], r[4]) for r in rows} if (due := required.of(*key))}
    if not by_key:
        return {}, Tiles(), [0] * len(mondays), set()
    modules = {m for due in by_key.values() for m in due}
    periods = sorted({months for due in by_key.values() for _, months in due.values() if months})
    cut = {
        months: (_first_day(months, today, after=False), _first_day(months, soon, after=True))
        for months in periods
    }
    starts = sorted({d for pair in cut.values() for d in pair} | {date(1, 1, 1)})
    band_of = {d: i for i, d in enumerate(starts)}
    bands = _Packing(list(modules), [_midnight(d) for d in starts])
    week_starts = [_midnight(d) for d in mondays]

    def profile(due: dict[str, tuple[date, int | None]]) -> _Profile:
        valid_in = [0] * len(starts)
        expiring_in = [0] * len(starts)
        for module_id, (_, months) in due.items():
            bit = bands.mask([module_id])
            for band in range(len(starts)):
                if months is None or band >= band_of[cut[months][0]]:
                    valid_in[band] |= bit
                    if months is not None and band < band_of[cut[months][1]]:
                        expiring_in[band] |= bit
        return _Profile(
            required=bands.mask(due),
            count=len(due),
            overdue=bands.mask(m for m, (d, _) in due.items() if today > d),
            due_soon=bands.mask(m for m, (d, _) in due.items() if today <= d <= soon),
            later=bands.mask(m for m, (d, _) in due.items() if d > soon),
            valid_in=tuple(valid_in),
            expiring_in=tuple(expiring_in),
        )

    profiles: dict[tuple[object, ...], _Profile] = {}
    of_key: dict[tuple[int | None, int | None], _Profile] = {}
    for (team_id, organisation_id, _), due in by_key.items():
        signature = tuple(sorted((m, d, months) for m, (d, months) in due.items()))
        if signature not in profiles:
            profiles[signature] = profile(due)
        of_key[(team_id, organisation_id)] = profiles[signature]

    ids = people.with_only_columns(User.id).scalar_subquery()
    done = ModuleCompletion.__table__.c  # type: ignore[attr-defined]
    band_columns = bands.columns(db, done.completed_at, done.module_id)
    split = len(band_columns)
    # Completions in the chart's weeks, as "week × width + place" numbers, one list per person
    # (most people completed nothing in those weeks: their list is empty; other modules'
    # completions are NULL, which the list leaves out).
    module = _sortable(db, done.module_id)
    recent = case(
        (
            done.completed_at >= literal(week_starts[0], DateTime(timezone=True)),
            cast(
                _week_of(done.completed_at, week_starts) * bands.width
                + _lookup(module, [(m, i) for i, m in enumerate(bands.modules)], "NULL"),
                String,
            ),
        )
    )
    packed: dict[int, Any] = {
        row[0]: row
        for row in db.connection()
        .execute(
            select_columns(done.user_id, *band_columns, func.aggregate_strings(recent, ","))
            .where(done.user_id.in_(ids))
            .group_by(done.user_id)
        )
        .all()
    }
    # People with the same requirements and the same completion bands stand the same.
    standing_of: dict[tuple[int, Any], tuple[int, int, bool, int]] = {}
    each = []
    for r in rows:
        p = of_key.get((r[2], r[3]))
        if p is None:
            continue
        row = packed.get(r[0])
        key = (id(p), (row[1] if split == 1 else tuple(row[1 : split + 1])) if row else None)
        found = standing_of.get(key)
        if found is None:
            found = standing_of[key] = _standing_of(
                p, bands.unpack(row[1 : split + 1]) if row else []
            )
        each.append((r[0], p, row, found))
    # Whether a lesson was opened tells "in progress" from "not started" among modules due
    # later: read only for people whose place in the filter or the order depends on it.
    ask = [
        user_id
        for user_id, _, _, (_, statuses, _, later) in each
        if later
        and (wanted in ("in_progress", "not_started") or (attention and not statuses & _URGENT))
    ]
    started = _started(db, ask, bands) if ask else {}
    kept: dict[int, int] = {}
    want = _BIT[wanted] if wanted else 0
    counted = completed_total = required_total = overdue = due_soon = expiring_people = 0
    weekly = [0] * len(mondays)
    needed = 0
    for user_id, p, row, (completed, statuses, expiring, later) in each:
        if later and (begun := later & started.get(user_id, 0)):
            statuses |= _BIT["in_progress"]
            if not later & ~begun:
                statuses &= ~_BIT["not_started"]
        if want and not statuses & want:
            continue
        kept[user_id] = statuses
        needed |= p.required
        counted += 1
        required_total += p.count
        completed_total += completed
        overdue += bool(statuses & _OVERDUE_OR_EXPIRED)
        due_soon += bool(statuses & _DUE_SOON)
        expiring_people += expiring
        if row and row[-1]:
            _add_weeks(weekly, row[-1], bands.width, p.required)
    tiles = Tiles(counted, required_total, completed_total, overdue, due_soon, expiring_people)
    return kept, tiles, weekly, {m for m, i in bands.place.items() if needed >> i & 1}


def _started(db: Session, ids: list[int], packing: _Packing) -> dict[int, int]:
    """For these people, the modules (bits of `packing`) with a lesson opened or skipped."""
    lessons = LessonProgress.__table__.c  # type: ignore[attr-defined]
    ever = _Packing(packing.modules, [_midnight(date(1, 1, 1))])
    columns = ever.columns(db, lessons.at, lessons.module_id)
    found: dict[int, int] = {}
    for first in range(0, len(ids), 1000):
        query = (
            select_columns(lessons.user_id, *columns)
            .where(lessons.user_id.in_(ids[first : first + 1000]))
            .group_by(lessons.user_id)
        )
        found.update((row[0], ever.unpack(row[1:])[0]) for row in db.connection().execute(query))
    return found


def _standing_of(p: _Profile, masks: list[int]) -> tuple[int, int, bool, int]:
    """For a person with requirements `p` and these completion bands: modules completed
    (and not expired), statuses found apart from "in progress" and "not started", whether a
    completion expires within 30 days, and the modules due later and not completed."""
    valid = expiring = completed = 0
    for band, mask in enumerate(_latest_first(masks)):
        valid |= mask & p.valid_in[band]
        expiring |= mask & p.expiring_in[band]
        completed |= mask
    completed &= p.required
    open_ = p.required & ~completed
    statuses = (
        (_BIT["overdue"] if open_ & p.overdue else 0)
        | (_BIT["expired"] if completed & ~valid else 0)
        | (_BIT["due_soon"] if open_ & p.due_soon else 0)
        | (_BIT["completed"] if valid else 0)
        | (_BIT["not_started"] if open_ & p.later else 0)
    )
    return valid.bit_count(), statuses, bool(expiring), open_ & p.later


def _add_weeks(weekly: list[int], places: str, width: int, required: int) -> None:
    """Add to `weekly` the completions in "week × width + place" numbers: each required
    module counted in the week of its latest completion."""
    latest: dict[int, int] = {}
    for token in places.split(","):
        place = int(token)
        slot = place % width
        if place > latest.get(slot, -1):
            latest[slot] = place
    for slot, place in latest.items():
        if required >> slot & 1:
            weekly[place // width] += 1


def _weeks(today: date, weeks: int = 12) -> list[date]:
    """The Mondays starting the chart's weeks, oldest first, the last ending this week."""
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    return [start + timedelta(weeks=i) for i in range(weeks)]


class _CollectionPause:
    """Holds off Python's cyclic garbage collector while a summary is built. A partnership's
    summary makes a few hundred thousand short-lived tuples and rows, none of them in
    reference cycles (reference counting frees them); left on, the collector would rescan
    the whole heap several times during the request (about a quarter of its time). Nested
    and concurrent pauses are counted; the collector resumes when the last one ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._count == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._count += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._count -= 1
            if self._count == 0 and self._was_enabled:
                gc.enable()


_collection_paused = _CollectionPause()


def matrix(db: Session, *, scope: Scope, catalog: Catalog, filters: Filters, today: date) -> Matrix:
    """The filtered, sorted page of the people × modules matrix, with its summary.

    Everyone's standing is summed in the database (`_summary`); a `Standing` per cell, best
    scores and lesson progress are worked out only for the page shown."""
    with _collection_paused:
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
    mondays = _weeks(today)
    statuses, tiles, weekly, used = _summary(
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
        return lambda r: (_attention(statuses[r[0]]), r[1].lower(), r[0])
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


_OVERDUE_OR_EXPIRED = 1 << STATUSES.index("overdue") | 1 << STATUSES.index("expired")
_URGENT = _OVERDUE_OR_EXPIRED | 1 << STATUSES.index("due_soon")
_DUE_SOON = 1 << STATUSES.index("due_soon")


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
