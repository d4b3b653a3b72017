"""Completions packed into time bands by the database, so that Python reads one row per
person instead of one per person and module.

A band is a stretch of time ([start, next start)); a person's row says, for each band, which
modules they completed in it, as the bits of a few integers (bit band × modules + module's
place, 60 bits to a column so each fits a signed 64-bit integer in both databases). A module
id becomes its bit through a binary search written as nested CASE expressions, so each row
costs a few comparisons whatever the number of modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, case, distinct, func, literal, literal_column, true
from sqlmodel import Session

BITS_PER_COLUMN = 60  # packed into integers that fit a signed 64-bit column in both databases


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def is_postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def sortable(db: Session, module: Any) -> Any:
    """The module id compared byte by byte, the order Python sorts ids in."""
    return module.collate("C" if is_postgres(db) else "BINARY")


class Packing:
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
        postgres = is_postgres(db)
        module = sortable(db, module)
        found = []
        for first in range(0, len(self.starts) * self.width, BITS_PER_COLUMN):
            bands = [
                band
                for band in range(len(self.starts))
                if band * self.width < first + BITS_PER_COLUMN and (band + 1) * self.width > first
            ]
            whens: list[tuple[Any, Any]] = []
            if self.starts[bands[0]] > midnight(date(1, 1, 1)):
                whens.append((at < self.stamp(bands[0]), literal_column("0")))
            for band in bands:
                places = [
                    (m, 1 << (band * self.width + place - first))
                    for place, m in enumerate(self.modules)
                    if 0 <= band * self.width + place - first < BITS_PER_COLUMN
                ]
                end = at < self.stamp(band + 1) if band + 1 < len(self.starts) else true()
                whens.append((end, lookup(module, places)))
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
                whole |= int(v) << (i * BITS_PER_COLUMN)
        full = (1 << self.width) - 1
        return [(whole >> (band * self.width)) & full for band in range(len(self.starts))]

    def mask(self, modules: Iterable[str]) -> int:
        """The bits of these modules."""
        return sum(1 << self.place[m] for m in set(modules) if m in self.place)


def lookup(module: Any, values: list[tuple[str, int]], other: str = "0") -> Any:
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
        (module < values[middle][0], lookup(module, values[:middle], other)),
        else_=lookup(module, values[middle:], other),
    )


def week_of(at: Any, mondays: Sequence[datetime], first: int = 0) -> Any:
    """CASE expression: the number of the week `at` falls in (`at` on or after mondays[0])."""
    if len(mondays) == 1:
        return literal_column(str(first))
    middle = len(mondays) // 2
    return case(
        (
            at < literal(mondays[middle], DateTime(timezone=True)),
            week_of(at, mondays[:middle], first),
        ),
        else_=week_of(at, mondays[middle:], first + middle),
    )


def latest_first(masks: Sequence[int]) -> list[int]:
    """Band masks with each module kept only in the latest band it appears in."""
    later = 0
    kept = [0] * len(masks)
    for band in range(len(masks) - 1, -1, -1):
        kept[band] = masks[band] & ~later
        later |= masks[band]
    return kept
