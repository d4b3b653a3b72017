"""The statuses of required training and the rule that decides them, for one person and one
module: not started, in progress, completed, due soon, overdue, expired."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

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
