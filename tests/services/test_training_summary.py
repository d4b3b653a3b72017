"""The team view's summary agrees, person by person, with the status of each required module
worked out one cell at a time (`statuses.standing`), on both databases.

The summary is computed in bulk: the database packs each person's completions into time
bands and Python reads them against what their team, organisation and sector require. This
checks it against the plain per-cell rules on random data built to hit the edges: more than
60 required modules (several packed columns), several completions of one module (versions,
recertification), completions on either side of an expiry boundary and of week boundaries,
modules completed but not required, people with nothing required, and every status.
"""

from __future__ import annotations

import gc
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.models import (
    Assignment,
    LessonProgress,
    ModuleCompletion,
    Organisation,
    Team,
    User,
)
from elearn.services import scopes, statuses, summary, training

TODAY = date(2026, 3, 31)  # a month end: "N months later" clamps
COURSE = "many"
MODULES = [f"m{i:02d}" for i in range(70)]
TRACKS = {"all": MODULES, "first": MODULES[:5], "odd": MODULES[1::2]}


# A catalogue of 70 modules: the summary needs ids, titles and tracks, nothing rendered.


@dataclass(frozen=True)
class _Module:
    id: str
    model: Any


@dataclass(frozen=True)
class _Track:
    id: str
    modules: tuple[_Module, ...]


@dataclass
class _Course:
    id: str
    modules: dict[str, _Module]
    tracks: list[_Track] = field(default_factory=list)

    def track(self, track_id: str) -> _Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)


class _Catalog:
    def __init__(self) -> None:
        modules = {m: _Module(m, SimpleNamespace(title=f"Module {m}")) for m in MODULES}
        tracks = [_Track(t, tuple(modules[m] for m in ms)) for t, ms in TRACKS.items()]
        self.courses = [_Course(COURSE, modules, tracks)]

    def course(self, course_id: str) -> _Course | None:
        return next((c for c in self.courses if c.id == course_id), None)


# Random data ---------------------------------------------------------------------------------


def _moment(day: date, rng: random.Random) -> datetime:
    """A time on that day (UTC), often right at either end of it."""
    edge = rng.choice([time(0, 0), time(23, 59, 59), time(12, 0)])
    return datetime.combine(day, edge, tzinfo=UTC)


def _completion_day(rng: random.Random) -> date:
    """A completion day near the edges that matter: expiry after 1 or 12 months (today and
    30 days ahead), week starts of the chart, or anywhere in the last two years."""
    anchors = [
        statuses.add_months(TODAY, -1),
        statuses.add_months(TODAY, -12),
        statuses.add_months(TODAY + timedelta(days=30), -1),
        statuses.add_months(TODAY + timedelta(days=30), -12),
        TODAY - timedelta(days=TODAY.weekday()),  # this week's Monday
        TODAY - timedelta(days=TODAY.weekday(), weeks=11),  # the chart's first Monday
        TODAY,
    ]
    if rng.random() < 0.6:
        return rng.choice(anchors) + timedelta(days=rng.choice([-2, -1, 0, 1, 2]))
    return TODAY - timedelta(days=rng.randrange(0, 730))


def _fill(db: Session, seed: int) -> str:
    """Teams, people, assignments, completions and lesson progress; the partnership id.
    (PostgreSQL keeps other tests' data: the checks below hold whatever else is there.)"""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]
    orgs = list(db.exec(select(Organisation)).all())
    partnership = orgs[0].partnership_id
    mine = [o for o in orgs if o.partnership_id == partnership][:3]
    teams = []
    for org in mine:
        for n in range(2):
            team = Team(organisation_id=org.id or 0, name=f"{org.name} team {n}")
            db.add(team)
            teams.append(team)
    db.commit()
    people = []
    for n in range(70):
        team = rng.choice([*teams, None])
        org = next(o for o in mine if team is None or o.id == team.organisation_id)
        if team is None:
            org = rng.choice(mine)
        user = User(
            email=f"person{n}-{run}@example.org",
            name=rng.choice(["Ann", "bob", "Ceri", "Dafydd", "Éamon"]) + f" {n}",
            password_hash="x",
            partnership_id=partnership,
            organisation_id=org.id,
            team_id=team.id if team else None,
        )
        db.add(user)
        people.append(user)
    db.commit()
    due_days = [-30, -1, 0, 1, 29, 30, 31, 90]
    for team in teams[:-1]:  # one team has nothing required of it
        for track in rng.sample(list(TRACKS), k=rng.choice([1, 2])):
            db.add(
                Assignment(
                    partnership_id=partnership,
                    course_id=COURSE,
                    track_id=track,
                    team_id=team.id,
                    due_on=TODAY + timedelta(days=rng.choice(due_days)),
                    recertify_months=rng.choice([None, 1, 12]),
                )
            )
    db.add(  # a module for a whole organisation, recertified monthly
        Assignment(
            partnership_id=partnership,
            course_id=COURSE,
            module_id="m69",
            organisation_id=mine[0].id,
            due_on=TODAY + timedelta(days=10),
            recertify_months=1,
        )
    )
    db.add(  # and one for a sector
        Assignment(
            partnership_id=partnership,
            course_id=COURSE,
            module_id="m03",
            sector=mine[1].sector,
            due_on=TODAY - timedelta(days=5),
        )
    )
    for user in people:
        for module in rng.sample(MODULES, k=rng.randrange(0, 50)):
            for version in range(1, rng.choice([1, 1, 1, 2, 3]) + 1):
                db.add(
                    ModuleCompletion(
                        user_id=user.id or 0,
                        course_id=COURSE,
                        module_id=module,
                        module_version=version,
                        content_hash="x" * 64,
                        completed_at=_moment(_completion_day(rng), rng),
                    )
                )
        for module in rng.sample(MODULES, k=rng.randrange(0, 20)):
            db.add(
                LessonProgress(
                    user_id=user.id or 0,
                    course_id=COURSE,
                    module_id=module,
                    lesson_id="one",
                    at=_moment(TODAY, rng),
                )
            )
    db.commit()
    return partnership


# The per-cell reference -----------------------------------------------------------------------


def _reference(
    db: Session, scope: scopes.Scope, catalog: Any, filters: scopes.Filters
) -> dict[str, Any]:
    """Tiles, weeks, people in order and used columns, one `standing()` per cell."""
    assignments, rules, columns = training.rules_for(db, scope, catalog, filters)
    required = training.Requirements(assignments, rules)
    rows = db.exec(training.people_query(scope, filters)).all()
    latest: dict[tuple[int, str], date] = {}
    for c in db.exec(select(ModuleCompletion)).all():
        day = (
            c.completed_at.astimezone(UTC).date()
            if c.completed_at.tzinfo
            else c.completed_at.date()
        )
        key = (c.user_id, c.module_id)
        latest[key] = max(latest.get(key, day), day)
    started = {(p.user_id, p.module_id) for p in db.exec(select(LessonProgress)).all()}
    people = []
    for user_id, name, _, team_id, organisation_id, organisation, team, sector in rows:
        cells = {
            m: statuses.standing(
                today=TODAY,
                due_on=due_on,
                recertify_months=months,
                completed_on=latest.get((user_id, m)),
                started=(user_id, m) in started,
            )
            for m, (due_on, months) in required.of(team_id, organisation_id, sector).items()
        }
        if not cells or (
            filters.status and not any(c.status == filters.status for c in cells.values())
        ):
            continue
        people.append((user_id, name, organisation or "", team or "", cells))
    order = {
        "name": lambda p: (p[1].lower(), p[0]),
        "organisation": lambda p: (p[2].lower(), p[1].lower(), p[0]),
        "team": lambda p: (p[3].lower(), p[1].lower(), p[0]),
        "attention": lambda p: (
            min(statuses.STATUSES.index(c.status) for c in p[4].values()),
            p[1].lower(),
            p[0],
        ),
    }
    people.sort(key=order[filters.sort])
    soon = TODAY + timedelta(days=30)
    tiles = statuses.Tiles()
    start = TODAY - timedelta(days=TODAY.weekday(), weeks=11)
    weeks: dict[date, int] = defaultdict(int)
    for *_, cells in people:
        found = [c.status for c in cells.values()]
        tiles.people += 1
        tiles.required += len(found)
        tiles.completed += found.count("completed")
        tiles.overdue += "overdue" in found or "expired" in found
        tiles.due_soon += "due_soon" in found
        tiles.expiring += any(
            c.status == "completed" and c.expires_on is not None and c.expires_on <= soon
            for c in cells.values()
        )
        for c in cells.values():
            if c.completed_on and c.completed_on >= start:
                weeks[c.completed_on - timedelta(days=c.completed_on.weekday())] += 1
    used = {m for *_, cells in people for m in cells}
    return {
        "tiles": tiles,
        "weeks": [
            (start + timedelta(weeks=i), weeks[start + timedelta(weeks=i)]) for i in range(12)
        ],
        "order": [p[0] for p in people],
        "columns": [c.module_id for c in columns if c.module_id in used],
        "page": {
            p[0]: {m: c.status for m, c in p[4].items()}
            for p in people[
                (filters.page - 1) * training.PER_PAGE : filters.page * training.PER_PAGE
            ]
        },
    }


@pytest.fixture
def world(any_db: TestClient) -> Iterator[tuple[Session, scopes.Scope]]:
    with Session(any_db.app.state.engine) as db:  # type: ignore[attr-defined]
        partnership = _fill(db, seed=7)
        yield db, scopes.Scope(partnership, None)


FILTERS: list[dict[str, Any]] = [
    {},
    *({"status": s} for s in statuses.STATUSES),
    {"sort": "attention"},
    {"sort": "organisation", "page": 2},
    {"sort": "team"},
    {"track": "first"},
    {"module": "m69"},
    {"q": "ann"},
]


def test_the_summary_agrees_with_each_cells_status(
    world: tuple[Session, scopes.Scope],
) -> None:
    db, scope = world
    catalog = _Catalog()
    for given in FILTERS:
        filters = scopes.Filters(**given)
        expected = _reference(db, scope, catalog, filters)
        found = training.matrix(db, scope=scope, catalog=catalog, filters=filters, today=TODAY)  # type: ignore[arg-type]
        assert found.tiles == expected["tiles"], given
        assert found.weeks == expected["weeks"], given
        assert found.total == len(expected["order"]), given
        page = expected["order"][(found.page - 1) * training.PER_PAGE :][: training.PER_PAGE]
        assert [p.user_id for p in found.people] == page, given
        assert [c.module_id for c in found.columns] == expected["columns"], given
        assert {
            p.user_id: {m: c.status for m, c in p.cells.items()} for p in found.people
        } == expected["page"], given


def test_the_random_data_reaches_every_edge(world: tuple[Session, scopes.Scope]) -> None:
    """The data above is worth checking against: every status occurs, a person needs more
    than 60 modules, expiring completions and completions in the chart's weeks exist."""
    db, scope = world
    found = training.matrix(
        db,
        scope=scope,
        catalog=_Catalog(),
        filters=scopes.Filters(),
        today=TODAY,  # type: ignore[arg-type]
    )
    for status in statuses.STATUSES:
        assert training.matrix(
            db,
            scope=scope,
            catalog=_Catalog(),  # type: ignore[arg-type]
            filters=scopes.Filters(status=status),
            today=TODAY,
        ).total, status
    assert len(found.columns) > 60
    assert found.tiles.expiring and found.tiles.overdue and found.tiles.due_soon
    assert sum(n for _, n in found.weeks) > 0
    everyone = db.exec(training.people_query(scope, scopes.Filters())).all()
    assert found.total < len(everyone)  # people with nothing required are left out


def test_garbage_collection_resumes_after_a_summary_even_one_that_fails(
    world: tuple[Session, scopes.Scope],
) -> None:
    db, scope = world
    assert gc.isenabled()
    training.matrix(
        db,
        scope=scope,
        catalog=_Catalog(),
        filters=scopes.Filters(),
        today=TODAY,  # type: ignore[arg-type]
    )
    assert gc.isenabled()
    with pytest.raises(AttributeError):
        training.matrix(db, scope=scope, catalog=None, filters=scopes.Filters(), today=TODAY)  # type: ignore[arg-type]
    assert gc.isenabled()
    with summary.collection_paused:
        with summary.collection_paused:
            assert not gc.isenabled()
        assert not gc.isenabled()  # still inside the outer pause
    assert gc.isenabled()
