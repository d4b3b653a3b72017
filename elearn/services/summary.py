"""Where everyone in view stands on their required training, summed up in bulk: the tiles,
the weekly completions chart, and each person's statuses for filtering and sorting.

Statuses depend on today only through a few dates: a completion counts until a day some
months after it, and expires "soon" if that day is within 30 days. Those dates cut time into
bands (`bands.Packing`); one query returns, per person, which modules they completed in which
band, and Python reads that against what their team, organisation and sector require (worked
out once per combination, as bit masks). The page shown works cell by cell (`training`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, String, case, cast, func, literal
from sqlalchemy import select as select_columns
from sqlmodel import Session

from elearn.models import LessonProgress, ModuleCompletion, User
from elearn.services.bands import Packing, latest_first, lookup, midnight, sortable, week_of
from elearn.services.statuses import DUE_SOON_DAYS, STATUSES, Tiles, add_months

if TYPE_CHECKING:
    from elearn.services.training import Requirements


def _first_day(months: int, target: date, *, after: bool) -> date:
    """The earliest completion day whose expiry (`months` later) is on or after `target`
    (`after`: strictly after it). Expiry dates never go down as completion days go up."""
    day = add_months(target, -months) - timedelta(days=40)
    while not (add_months(day, months) > target if after else add_months(day, months) >= target):
        day += timedelta(days=1)
    return day


_BIT = {status: 1 << i for i, status in enumerate(STATUSES)}  # a person's statuses as bits
_OVERDUE_OR_EXPIRED = _BIT["overdue"] | _BIT["expired"]
_DUE_SOON = _BIT["due_soon"]
_URGENT = _OVERDUE_OR_EXPIRED | _DUE_SOON


def attention(statuses: int) -> int:
    """The most urgent status's place in STATUSES (bit i: STATUSES[i]); lower sorts first."""
    return (statuses & -statuses).bit_length() - 1 if statuses else len(STATUSES)


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


def summarise(
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
    bands = Packing(list(modules), [midnight(d) for d in starts])
    week_starts = [midnight(d) for d in mondays]

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
    module = sortable(db, done.module_id)
    recent = case(
        (
            done.completed_at >= literal(week_starts[0], DateTime(timezone=True)),
            cast(
                week_of(done.completed_at, week_starts) * bands.width
                + lookup(module, [(m, i) for i, m in enumerate(bands.modules)], "NULL"),
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


def _started(db: Session, ids: list[int], packing: Packing) -> dict[int, int]:
    """For these people, the modules (bits of `packing`) with a lesson opened or skipped."""
    lessons = LessonProgress.__table__.c  # type: ignore[attr-defined]
    ever = Packing(packing.modules, [midnight(date(1, 1, 1))])
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
    for band, mask in enumerate(latest_first(masks)):
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


def chart_weeks(today: date, weeks: int = 12) -> list[date]:
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


collection_paused = _CollectionPause()
