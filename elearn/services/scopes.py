"""Who may see what in the team view, and the filters that narrow it.

A manager sees only the teams they manage, a partnership admin their partnership. Filter
values come from a query string: unknown ones are dropped, with a note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from elearn.content.catalog import Catalog
from elearn.errors import NotFound
from elearn.models import Organisation, Partnership, Team, TeamManager, User
from elearn.services.statuses import LABELS
from elearn.web.inputs import MAX_PAGE, plain_text, whole_number


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
    search = params.get("q", "")
    filters = Filters(q=search.strip()[:100])
    if plain_text(search, max_length=len(search)) is None:
        filters.q = ""
        filters.notes.append("The search was ignored: it had a character that cannot be searched.")

    def number(name: str, allowed: set[int], what: str) -> int | None:
        raw = params.get(name, "").strip()
        if not raw:
            return None
        number = whole_number(raw)
        if number is not None and number in allowed:
            return number
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
    filters.page = whole_number(params.get("page", "1"), high=MAX_PAGE) or 1
    return filters
