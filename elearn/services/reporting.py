"""The read-only reporting API: tokens that partnership admins create and revoke, and the
completions and people a token may read.

A token is scoped like the admin who created it, as that admin is *now*: their current
partnership, and nothing at all once they are no longer an admin. Only the token's SHA-256
is stored; the token itself is shown once, when it is created. Reports never include
reflections or individual quiz answers: only who completed what, when, and best scores.
Each report is a constant number of queries, however many rows it returns.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from elearn.content.catalog import Catalog
from elearn.errors import FormError, NotFound
from elearn.models import (
    ApiToken,
    ModuleCompletion,
    Organisation,
    QuizAttempt,
    Team,
    TrackCompletion,
    User,
    utcnow,
)
from elearn.services import audit
from elearn.services.tokens import new_token, token_hash
from elearn.web.inputs import MAX_ID

TOUCH_EVERY = timedelta(minutes=1)  # how stale last_used_at may get before it is written
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
NAME_MAX = 200


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRow:
    """A token as the admin pages list it (never the token itself)."""

    token: ApiToken
    created_by: str
    creator_is_admin: bool

    @property
    def status(self) -> str:
        """active, revoked, or suspended (its creator is no longer an admin)."""
        if self.token.revoked_at is not None:
            return "revoked"
        return "active" if self.creator_is_admin else "suspended"


def _audit(db: Session, actor: User, action: str, **detail: Any) -> None:
    audit.record(db, actor=actor, action=action, **detail)


def tokens_of(db: Session, admin: User) -> list[TokenRow]:
    """The tokens of the admin's partnership (created by any of its people), newest first."""
    rows = db.exec(
        select(ApiToken, User.name, User.role)
        .join(User, col(User.id) == ApiToken.created_by_id)
        .where(User.partnership_id == admin.partnership_id)
        .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
    ).all()
    return [TokenRow(token, name, role == "admin") for token, name, role in rows]


def create_token(db: Session, *, admin: User, name: str) -> tuple[ApiToken, str]:
    """A new token named by the admin: the row, and the token to show them once."""
    name = " ".join(name.split())
    if not name:
        raise FormError({"name": "Enter a name for the token, such as who or what will use it"})
    if len(name) > NAME_MAX:
        raise FormError({"name": f"Enter a name of {NAME_MAX} characters or fewer"})
    assert admin.id is not None
    secret, digest = new_token()
    token = ApiToken(token_hash=digest, name=name, created_by_id=admin.id)
    db.add(token)
    db.flush()
    _audit(db, admin, "api_token.create", token_id=token.id, name=name)
    db.commit()
    db.refresh(token)
    return token, secret


def revoke_token(db: Session, *, admin: User, token_id: int) -> ApiToken:
    """Revoke a token of the admin's partnership; it stops working at once."""
    found = db.exec(
        select(ApiToken)
        .join(User, col(User.id) == ApiToken.created_by_id)
        .where(ApiToken.id == token_id, User.partnership_id == admin.partnership_id)
    ).first()
    if found is None:
        raise NotFound("There is no such API token in your partnership.")
    if found.revoked_at is None:
        found.revoked_at = utcnow()
        db.add(found)
        _audit(db, admin, "api_token.revoke", token_id=found.id, name=found.name)
        db.commit()
        db.refresh(found)
    return found


@dataclass(frozen=True)
class ApiScope:
    """What a request with a valid token may read: one partnership's people."""

    token_id: int
    partnership_id: str


_TOKENS = ApiToken.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_LOOKUP = (
    sa.select(
        _TOKENS.c.id,
        _TOKENS.c.revoked_at,
        _TOKENS.c.last_used_at,
        _USERS.c.role,
        _USERS.c.partnership_id,
    )
    .join_from(_TOKENS, _USERS, _TOKENS.c.created_by_id == _USERS.c.id)
    .where(_TOKENS.c.token_hash == sa.bindparam("digest"))
)


def authenticate(db: Session, secret: str | None) -> ApiScope | None:
    """The scope of a live token, or None (unknown, revoked, or its creator is no longer an
    admin). Records when the token was used, at most once a minute."""
    if not secret:
        return None
    row = db.connection().execute(_LOOKUP, {"digest": token_hash(secret)}).first()
    if row is None:
        return None
    token_id, revoked_at, last_used_at, role, partnership_id = row
    if revoked_at is not None or role != "admin":
        return None
    now = utcnow()
    if last_used_at is None or now - _aware(last_used_at) > TOUCH_EVERY:
        db.execute(sa.update(_TOKENS).where(_TOKENS.c.id == token_id).values(last_used_at=now))
        db.commit()
    return ApiScope(token_id, partnership_id)


# Report shapes (also the API's documented response models) ----------------------------------


class PersonOut(BaseModel):
    """A person in the partnership, with where they work."""

    id: int = Field(description="The person's id; stable, use it to join reports.")
    name: str
    email: str
    organisation_id: int | None = Field(description="Their organisation's id, if any.")
    organisation: str | None = Field(description="Their organisation's name, if any.")
    team_id: int | None = Field(description="Their team's id, if any.")
    team: str | None = Field(description="Their team's name, if any.")
    sector: str | None = Field(
        description="Their organisation's sector, such as education, police or youth-justice."
    )


class CompletionOut(BaseModel):
    """A module or a whole track completed by a person."""

    kind: Literal["module", "track"] = Field(description="A module or a whole track.")
    completion_id: int = Field(
        description="The completion's id; unique together with `kind`, never reused."
    )
    person: PersonOut
    course_id: str
    track_id: str | None = Field(description="The track completed; null for module rows.")
    module_id: str | None = Field(description="The module completed; null for track rows.")
    module_version: int | None = Field(
        description="The module version the completion was earned on; null for track rows."
    )
    title: str | None = Field(
        description="The track's or module's title in the content served now; null if it is "
        "no longer served."
    )
    completed_at: datetime = Field(description="When it was completed (ISO 8601, UTC).")
    best_score: int | None = Field(
        description="Module rows: the person's best quiz score on the module, in percent, or "
        "null if it has no quiz or none was submitted. Always null for track rows."
    )


class CompletionPage(BaseModel):
    """A page of completions."""

    items: list[CompletionOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    notes: list[str] = Field(
        description="Filters that were ignored because their value does not exist here."
    )


class PeoplePage(BaseModel):
    """A page of people."""

    items: list[PersonOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    notes: list[str] = Field(
        description="Filters that were ignored because their value does not exist here."
    )


# Filters ------------------------------------------------------------------------------------


@dataclass
class Filters:
    """Report filters as accepted, and notes on any that were ignored."""

    organisation: int | None = None
    team: int | None = None
    sector: str | None = None
    track: str | None = None
    module: str | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None
    notes: list[str] = field(default_factory=list)


def parse_filters(
    db: Session,
    scope: ApiScope,
    catalog: Catalog,
    *,
    organisation: int | None = None,
    team: int | None = None,
    sector: str | None = None,
    track: str | None = None,
    module: str | None = None,
    kind: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Filters:
    """Filters checked against the partnership and the content; values that do not exist
    are dropped with a note, as on the team training page. At most two queries."""
    filters = Filters(kind=kind, since=since, until=until)
    if organisation is not None or sector:
        organisations = db.exec(
            select(Organisation.id, Organisation.sector).where(
                Organisation.partnership_id == scope.partnership_id
            )
        ).all()
        if organisation is not None:
            if organisation in {o for o, _ in organisations}:
                filters.organisation = organisation
            else:
                filters.notes.append(
                    "The organisation filter was ignored: there is no such organisation here."
                )
        if sector:
            if sector in {s for _, s in organisations}:
                filters.sector = sector
            else:
                filters.notes.append(
                    f"The sector filter was ignored: “{sector[:40]}” is not one of its values."
                )
    if team is not None:
        found = db.exec(
            select(Team.id)
            .join(Organisation, col(Organisation.id) == Team.organisation_id)
            .where(Team.id == team, Organisation.partnership_id == scope.partnership_id)
        ).first()
        if found is not None:
            filters.team = team
        else:
            filters.notes.append("The team filter was ignored: there is no such team here.")
    if track:
        if any(c.track(track) for c in catalog.courses):
            filters.track = track
        else:
            filters.notes.append(
                f"The track filter was ignored: “{track[:40]}” is not one of its values."
            )
    if module:
        if any(module in c.modules for c in catalog.courses):
            filters.module = module
        else:
            filters.notes.append(
                f"The module filter was ignored: “{module[:40]}” is not one of its values."
            )
    if since and until and since > until:
        filters.notes.append("The dates are the wrong way round: no completion can match.")
    return filters


# Cursors ------------------------------------------------------------------------------------


class BadCursor(ValueError):
    """A cursor that this API did not hand out (or for another list)."""


def encode_cursor(kind: str, *values: int) -> str:
    """An opaque cursor for the next page."""
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, size: int) -> tuple[int, ...]:
    """The values inside a cursor of this kind; BadCursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("The cursor is not valid: pass next_cursor exactly as given.") from exc
    if (
        not isinstance(value, list)
        or len(value) != size + 1
        or value[0] != kind
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:])
        or not all(0 <= v <= MAX_ID for v in value[1:])
    ):
        raise BadCursor("The cursor is not valid: pass next_cursor exactly as given.")
    return tuple(value[1:])


# Queries ------------------------------------------------------------------------------------


def _in_partnership(partnership_id: str) -> Any:
    """People whose organisation is in the partnership, and accounts of the partnership
    without an organisation (such as its admins)."""
    return sa.or_(
        col(Organisation.partnership_id) == partnership_id,
        sa.and_(col(User.organisation_id).is_(None), col(User.partnership_id) == partnership_id),
    )


_PERSON_COLUMNS: tuple[Any, ...] = (
    col(User.id),
    col(User.name),
    col(User.email),
    col(User.organisation_id),
    col(Organisation.name),
    col(User.team_id),
    col(Team.name),
    col(Organisation.sector),
)


def _union_all(*selects: Any) -> Any:
    """sa.union_all, untyped, for the same reason."""
    return sa.union_all(*selects)


def _select(*columns: Any) -> Any:
    """sa.select, untyped: its overloads defeat the type checker on wide rows."""
    return sa.select(*columns)


def _person_where(query: Any, scope: ApiScope, filters: Filters) -> Any:
    query = query.where(_in_partnership(scope.partnership_id))
    if filters.organisation is not None:
        query = query.where(User.organisation_id == filters.organisation)
    if filters.team is not None:
        query = query.where(User.team_id == filters.team)
    if filters.sector:
        query = query.where(Organisation.sector == filters.sector)
    return query


def _person(row: Sequence[Any]) -> PersonOut:
    user_id, name, email, organisation_id, organisation, team_id, team, sector = row
    return PersonOut(
        id=user_id,
        name=name,
        email=email,
        organisation_id=organisation_id,
        organisation=organisation,
        team_id=team_id,
        team=team,
        sector=sector,
    )


def people(
    db: Session, scope: ApiScope, filters: Filters, *, limit: int, cursor: str | None
) -> PeoplePage:
    """A page of the people in scope, in id order. One query."""
    after = decode_cursor(cursor, "p", 1)[0] if cursor else 0
    query = (
        _select(*_PERSON_COLUMNS)
        .select_from(User)
        .outerjoin(Organisation, col(Organisation.id) == User.organisation_id)
        .outerjoin(Team, col(Team.id) == User.team_id)
        .where(col(User.id) > after)
        .order_by(col(User.id))
        .limit(limit + 1)
    )
    rows = db.connection().execute(_person_where(query, scope, filters)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return PeoplePage(
        items=[_person(r) for r in rows],
        next_cursor=encode_cursor("p", rows[-1][0]) if more else None,
        notes=filters.notes,
    )


MODULE, TRACK = 0, 1  # ranks: completions are ordered by (id, rank)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def completions(
    db: Session,
    scope: ApiScope,
    catalog: Catalog,
    filters: Filters,
    *,
    limit: int,
    cursor: str | None,
) -> CompletionPage:
    """A page of module and track completions of people in scope, ordered by completion id
    (module rows before track rows of the same id). Two queries, whatever the page size."""
    after_id, after_rank = decode_cursor(cursor, "c", 2) if cursor else (0, TRACK)
    if after_rank not in (MODULE, TRACK):
        raise BadCursor("The cursor is not valid: pass next_cursor exactly as given.")
    mc, tc = ModuleCompletion, TrackCompletion
    parts: list[Any] = []
    if filters.kind in (None, "module"):
        part = _select(
            sa.literal(MODULE).label("rank"),
            col(mc.id).label("id"),
            col(mc.user_id).label("user_id"),
            col(mc.course_id).label("course_id"),
            sa.cast(sa.null(), sa.String).label("track_id"),
            sa.cast(col(mc.module_id), sa.String).label("module_id"),
            sa.cast(col(mc.module_version), sa.Integer).label("module_version"),
            col(mc.completed_at).label("completed_at"),
        ).where(col(mc.id) > after_id)
        if filters.track:
            pairs = [
                (course.id, m.id)
                for course in catalog.courses
                if (track := course.track(filters.track)) is not None
                for m in track.modules
            ]
            part = part.where(
                sa.or_(*[sa.and_(col(mc.course_id) == c, col(mc.module_id) == m) for c, m in pairs])
                if pairs
                else sa.false()
            )
        if filters.module:
            part = part.where(col(mc.module_id) == filters.module)
        parts.append(_dated(part, col(mc.completed_at), filters))
    if filters.kind in (None, "track") and not filters.module:
        part = _select(
            sa.literal(TRACK).label("rank"),
            col(tc.id).label("id"),
            col(tc.user_id).label("user_id"),
            col(tc.course_id).label("course_id"),
            sa.cast(col(tc.track_id), sa.String).label("track_id"),
            sa.cast(sa.null(), sa.String).label("module_id"),
            sa.cast(sa.null(), sa.Integer).label("module_version"),
            col(tc.completed_at).label("completed_at"),
        ).where(col(tc.id) >= after_id if after_rank == MODULE else col(tc.id) > after_id)
        if filters.track:
            part = part.where(col(tc.track_id) == filters.track)
        parts.append(_dated(part, col(tc.completed_at), filters))
    if not parts:
        return CompletionPage(items=[], next_cursor=None, notes=filters.notes)
    both: Any = parts[0] if len(parts) == 1 else _union_all(*parts)
    done = both.subquery("done")
    query = (
        _select(
            done.c.rank,
            done.c.id,
            done.c.course_id,
            done.c.track_id,
            done.c.module_id,
            done.c.module_version,
            done.c.completed_at,
            *_PERSON_COLUMNS,
        )
        .select_from(done)
        .join(User, col(User.id) == done.c.user_id)
        .outerjoin(Organisation, col(Organisation.id) == User.organisation_id)
        .outerjoin(Team, col(Team.id) == User.team_id)
        .order_by(done.c.id, done.c.rank)
        .limit(limit + 1)
    )
    rows = db.connection().execute(_person_where(query, scope, filters)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    best = _best_scores(db, [(r[7], r[2], r[4]) for r in rows if r[0] == MODULE])
    titles = _titles(catalog)
    items = []
    for row in rows:
        rank, completion_id, course_id, track_id, module_id, version, completed_at = row[:7]
        person = _person(row[7:])
        is_module = rank == MODULE
        items.append(
            CompletionOut(
                kind="module" if is_module else "track",
                completion_id=completion_id,
                person=person,
                course_id=course_id,
                track_id=None if is_module else track_id,
                module_id=module_id if is_module else None,
                module_version=version if is_module else None,
                title=titles.get(
                    (course_id, "module" if is_module else "track", module_id or track_id)
                ),
                completed_at=_aware(completed_at),
                best_score=best.get((person.id, course_id, module_id)) if is_module else None,
            )
        )
    last = rows[-1] if rows else None
    return CompletionPage(
        items=items,
        next_cursor=encode_cursor("c", last[1], last[0]) if more and last else None,
        notes=filters.notes,
    )


def _dated(part: Any, column: Any, filters: Filters) -> Any:
    if filters.since:
        part = part.where(column >= _start(filters.since))
    if filters.until:
        part = part.where(column < _start(filters.until + timedelta(days=1)))
    return part


def _best_scores(
    db: Session, wanted: list[tuple[int, str, str]]
) -> dict[tuple[int, str, str], int]:
    """Best submitted quiz score per (person, course, module), for the rows of one page."""
    if not wanted:
        return {}
    users = sorted({u for u, _, _ in wanted})
    modules = sorted({m for _, _, m in wanted})
    found = db.exec(
        select(
            QuizAttempt.user_id,
            QuizAttempt.course_id,
            QuizAttempt.module_id,
            sa.func.max(QuizAttempt.score),
        )
        .where(
            col(QuizAttempt.user_id).in_(users),
            col(QuizAttempt.module_id).in_(modules),
            col(QuizAttempt.score).is_not(None),
        )
        .group_by(col(QuizAttempt.user_id), col(QuizAttempt.course_id), col(QuizAttempt.module_id))
    ).all()
    return {(u, c, m): score for u, c, m, score in found if score is not None}


def _titles(catalog: Catalog) -> dict[tuple[str, str, str], str]:
    titles: dict[tuple[str, str, str], str] = {}
    for course in catalog.courses:
        for track in course.tracks:
            titles[(course.id, "track", track.id)] = track.model.title
        for module in course.modules.values():
            titles[(course.id, "module", module.id)] = module.model.title
    return titles
