"""Managers and partnership admins: the team view, a person's page, the CSV export and
required training."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session, col, select
from starlette.responses import RedirectResponse, Response, StreamingResponse

from elearn.db import SessionDep
from elearn.errors import NotFound
from elearn.models import Assignment, Organisation, Team, utcnow
from elearn.services import certificates, completion, progress, scopes, statuses, training
from elearn.services.spreadsheet import safe_cell as _safe
from elearn.web.deps import SignedInDep, csrf_protect
from elearn.web.downloads import attachment
from elearn.web.inputs import SHORT_LENGTH, FormText, NoNul, PathId, whole_number
from elearn.web.pages import catalog_of
from elearn.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)])
Text = FormText


def _today() -> date:
    return utcnow().date()


@router.get("/manage")
def team_view(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """Summary tiles, the people × modules matrix with filters, and completions per week.
    An htmx request gets just the part below the filters, to swap in place."""
    scope = scopes.require_scope(db, viewer.user)
    catalog = catalog_of(request)
    found = scopes.choices(db, scope, catalog)
    filters = scopes.parse_filters(dict(request.query_params), found)
    result = training.matrix(db, scope=scope, catalog=catalog, filters=filters, today=_today())
    template = (
        "manage/_results.html"
        if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "results"
        else "manage/team.html"
    )
    return render(
        request,
        template,
        matrix=result,
        filters=filters,
        found=found,
        labels=statuses.LABELS,
        tags=statuses.TAGS,
        sorts=scopes.SORTS,
        chart=_chart(result.weeks),
        options={
            "partnership": found.partnerships,
            "organisation": [(o.id, o.name) for o in found.organisations],
            "team": [(t.id, t.name) for t in found.teams],
            "sector": [(s, s.replace("-", " ").capitalize()) for s in found.sectors],
            "track": [(t, title) for _, t, title in found.tracks],
            "module": [(m, title) for _, m, title in found.modules],
            "status": list(statuses.LABELS.items()),
        },
    )


def _chart(weeks: list[tuple[date, int]]) -> dict[str, object]:
    """Bar positions for the completions-per-week chart, drawn on the server as SVG."""
    top = max((n for _, n in weeks), default=0) or 1
    width, height, gap = 40, 160, 8
    bars = [
        {
            "x": i * (width + gap) + 40,
            "height": round(height * n / top),
            "y": 10 + height - round(height * n / top),
            "count": n,
            "week": monday,
        }
        for i, (monday, n) in enumerate(weeks)
    ]
    return {
        "bars": bars,
        "top": top,
        "width": len(weeks) * (width + gap) + 40,
        "height": height + 50,
        "bar": width,
        "base": 10 + height,
    }


def _slug(text: str) -> str:
    """Lower-case letters, digits and single hyphens only, for a file name."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40].strip("-")


def _file_name(filters: scopes.Filters, found: scopes.Choices, today: date) -> str:
    """A file name that says what was filtered, like
    team-training-riverside-academy-overdue-2026-12-02.csv."""
    organisations = {o.id: o.name for o in found.organisations}
    teams = {t.id: t.name for t in found.teams}
    tracks = {t: title for _, t, title in found.tracks}
    modules = {m: title for _, m, title in found.modules}
    parts = [
        organisations.get(filters.organisation, "") if filters.organisation else "",
        teams.get(filters.team, "") if filters.team else "",
        filters.sector or "",
        tracks.get(filters.track, "") if filters.track else "",
        modules.get(filters.module, "") if filters.module else "",
        statuses.LABELS.get(filters.status, "") if filters.status else "",
        "search" if filters.q else "",
    ]
    words = [slug for part in parts if (slug := _slug(part))]
    return "-".join(["team-training", *words, today.isoformat()]) + ".csv"


@router.get("/manage/export.csv")
def export(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """The filtered matrix as CSV, one row per person and required module, streamed."""
    scope = scopes.require_scope(db, viewer.user)
    catalog = catalog_of(request)
    found = scopes.choices(db, scope, catalog)
    filters = scopes.parse_filters(dict(request.query_params), found)
    engine = request.app.state.engine
    today = _today()

    def lines() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(training.EXPORT_HEADER)
        yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
        with Session(engine) as own:
            rows = training.export_rows(
                own, scope=scope, catalog=catalog, filters=filters, today=today
            )
            for count, row in enumerate(rows, start=1):
                if count % 500 == 1:
                    buffer.seek(0)
                    buffer.truncate()
                writer.writerow([_safe(cell) for cell in row])
                if count % 500 == 0:
                    yield buffer.getvalue().encode("utf-8")
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue().encode("utf-8")

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": attachment(_file_name(filters, found, today)),
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/manage/people/{user_id}")
def person_page(request: Request, db: SessionDep, viewer: SignedInDep, user_id: PathId) -> Response:
    """One person's required training, tracks and certificates; never their reflections or
    individual answers."""
    scope = scopes.require_scope(db, viewer.user)
    person = training.person_in_scope(db, scope, user_id)
    catalog = catalog_of(request)
    own_row = training.matrix(
        db, scope=scope, catalog=catalog, filters=scopes.Filters(q=person.email), today=_today()
    ).people
    row = next((p for p in own_row if p.user_id == user_id), None)
    titles = {m.id: m.model.title for c in catalog.courses for m in c.modules.values()}
    tracks = []
    for enrolment in progress.enrolments(db, user_id=user_id):
        course = catalog.course(enrolment.course_id)
        track = course.track(enrolment.track_id) if course else None
        if course is not None and track is not None:
            tracks.append((course, progress.track_status(db, user_id=user_id, track=track)))
    return render(
        request,
        "manage/person.html",
        person=person,
        row=row,
        titles=titles,
        tags=statuses.TAGS,
        tracks=tracks,
        done=completion.track_completions(db, user_id=user_id),
        held=certificates.of_user(db, user_id),
        organisation=db.get(Organisation, person.organisation_id)
        if person.organisation_id
        else None,
        team=db.get(Team, person.team_id) if person.team_id else None,
    )


# Required training ---------------------------------------------------------------------------

DayField = Annotated[str, Form(alias="due-day", max_length=SHORT_LENGTH), NoNul]
MonthField = Annotated[str, Form(alias="due-month", max_length=SHORT_LENGTH), NoNul]
YearField = Annotated[str, Form(alias="due-year", max_length=SHORT_LENGTH), NoNul]
NOTICES = {
    "added": "The training is now required.",
    "changed": "The required training is changed.",
    "removed": "The training is no longer required. Completions already recorded are kept.",
}


@router.get("/manage/assignments")
def assignments_page(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """Required training in the viewer's scope, and a form to add some."""
    scope = scopes.require_scope(db, viewer.user)
    done = request.query_params.get("done", "")
    return _assignments(request, db, scope, errors={}, form={}, notice=NOTICES.get(done))


def _names(scope: scopes.Scope, found: scopes.Choices) -> dict[str, object]:
    """Names for the table of required training and the pages about one of them."""
    return {
        "teams": {t.id: t.name for t in found.teams},
        "organisations": {o.id: o.name for o in found.organisations},
        "titles": {
            **{t: title for _, t, title in found.tracks},
            **{m: title for _, m, title in found.modules},
        },
        "admin": scope.team_ids is None,
    }


def _assignments(
    request: Request,
    db: Session,
    scope: scopes.Scope,
    *,
    errors: dict[str, str],
    form: dict[str, str],
    status_code: int = 200,
    notice: str | None = None,
    due_parts: tuple[str, ...] = (),
    duplicate: Assignment | None = None,
) -> Response:
    catalog = catalog_of(request)
    found = scopes.choices(db, scope, catalog)
    rows = [
        a
        for a in db.exec(
            select(Assignment)
            .where(Assignment.partnership_id == scope.partnership_id)
            .order_by(col(Assignment.due_on), col(Assignment.id))
        ).all()
        if scope.team_ids is None or scope.allows_team(a.team_id)
    ]
    return render(
        request,
        "manage/assignments.html",
        status_code=status_code,
        rows=rows,
        found=found,
        errors=errors,
        anchors={"due": f"due-{(due_parts or ('day',))[0]}"},
        due_parts=due_parts,
        form=form,
        notice=notice,
        duplicate=duplicate,
        **_names(scope, found),
    )


def _when_and_how_often(
    day: str, month: str, year: str, months: str, errors: dict[str, str]
) -> tuple[date | None, int | None, tuple[str, ...]]:
    """The due date and recertification typed into a form, with their errors added to
    `errors`; and which part of the date to correct first."""
    due_on, message, parts = training.due_date(day, month, year, today=_today())
    if message:
        errors["due"] = message
    recertify, problem = training.recertify_months(months)
    if problem:
        errors["recertify_months"] = problem
    return due_on, recertify, parts


@router.post("/manage/assignments")
def add_assignment(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    item: Text = "",
    scope_kind: Text = "team",
    team: Text = "",
    organisation: Text = "",
    sector: Text = "",
    due_day: DayField = "",
    due_month: MonthField = "",
    due_year: YearField = "",
    recertify_months: Text = "",
) -> Response:
    """Require a track or module of a team (managers), or of an organisation or a sector
    (partnership admins), by a date from today on; the same training twice for the same
    people is refused with a link to the one that exists."""
    scope = scopes.require_scope(db, viewer.user)
    catalog = catalog_of(request)
    found = scopes.choices(db, scope, catalog)
    form = {
        "item": item,
        "scope_kind": scope_kind,
        "team": team,
        "organisation": organisation,
        "sector": sector,
        "due_day": due_day,
        "due_month": due_month,
        "due_year": due_year,
        "recertify_months": recertify_months,
    }
    errors: dict[str, str] = {}
    kind, _, rest = item.partition(":")
    course_id, _, item_id = rest.partition(":")
    valid_items = {f"track:{c}:{t}" for c, t, _ in found.tracks} | {
        f"module:{c}:{m}" for c, m, _ in found.modules
    }
    if item not in valid_items:
        errors["item"] = "Choose the track or module to require"
    assignment = Assignment(
        partnership_id=scope.partnership_id,
        course_id=course_id,
        track_id=item_id if kind == "track" else None,
        module_id=item_id if kind == "module" else None,
        due_on=_today(),
        created_by_id=viewer.user.id,
    )
    if scope_kind == "team" or scope.team_ids is not None:
        allowed = {str(t.id): t for t in found.teams}
        if team not in allowed:
            if whole_number(team) is not None:
                raise NotFound("There is no such team among the teams you look after.")
            errors["team"] = "Choose the team"
        else:
            assignment.team_id = allowed[team].id
    elif scope_kind == "organisation":
        allowed_orgs = {str(o.id): o for o in found.organisations}
        if organisation not in allowed_orgs:
            errors["organisation"] = "Choose the organisation"
        else:
            assignment.organisation_id = allowed_orgs[organisation].id
    elif scope_kind == "sector":
        if sector not in found.sectors:
            errors["sector"] = "Choose the sector"
        else:
            assignment.sector = sector
    else:
        errors["scope_kind"] = "Choose who must complete it"
    due_on, recertify, parts = _when_and_how_often(
        due_day, due_month, due_year, recertify_months, errors
    )
    duplicate = None
    if not errors:
        duplicate = training.same_requirement(db, assignment)
        if duplicate is not None:
            errors["item"] = f"This training is already required of {_who(assignment, found)}"
    if errors or due_on is None:
        return _assignments(
            request,
            db,
            scope,
            errors=errors,
            form=form,
            status_code=400,
            due_parts=parts,
            duplicate=duplicate,
        )
    assignment.due_on, assignment.recertify_months = due_on, recertify
    training.add_assignment(db, actor=viewer.user, assignment=assignment)
    return RedirectResponse("/manage/assignments?done=added", status_code=303)


def _who(assignment: Assignment, found: scopes.Choices) -> str:
    """Who must complete some training, as a sentence ends: "Team A", "everyone at X"."""
    if assignment.team_id is not None:
        return next((t.name for t in found.teams if t.id == assignment.team_id), "the team")
    if assignment.organisation_id is not None:
        name = next((o.name for o in found.organisations if o.id == assignment.organisation_id), "")
        return f"everyone at {name or 'the organisation'}"
    return f"everyone in {training.sector_name(assignment.sector or '').lower()}"


def _one(
    request: Request,
    db: Session,
    scope: scopes.Scope,
    assignment: Assignment,
    template: str,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    due_parts: tuple[str, ...] = (),
) -> Response:
    found = scopes.choices(db, scope, catalog_of(request))
    return render(
        request,
        template,
        status_code=status_code,
        a=assignment,
        errors=errors or {},
        anchors={"due": f"due-{(due_parts or ('day',))[0]}"},
        due_parts=due_parts,
        form=form
        or {
            "due_day": str(assignment.due_on.day),
            "due_month": str(assignment.due_on.month),
            "due_year": str(assignment.due_on.year),
            "recertify_months": str(assignment.recertify_months or ""),
        },
        **_names(scope, found),
    )


@router.get("/manage/assignments/{assignment_id}/edit")
def edit_assignment_page(
    request: Request, db: SessionDep, viewer: SignedInDep, assignment_id: PathId
) -> Response:
    """Change when required training is due, and how often it is needed again."""
    scope = scopes.require_scope(db, viewer.user)
    assignment = training.assignment_in_scope(db, scope, assignment_id)
    return _one(request, db, scope, assignment, "manage/assignment_edit.html")


@router.post("/manage/assignments/{assignment_id}/edit")
def edit_assignment(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    assignment_id: PathId,
    due_day: DayField = "",
    due_month: MonthField = "",
    due_year: YearField = "",
    recertify_months: Text = "",
) -> Response:
    """Save a changed due date and recertification, checked like new required training."""
    scope = scopes.require_scope(db, viewer.user)
    assignment = training.assignment_in_scope(db, scope, assignment_id)
    errors: dict[str, str] = {}
    due_on, recertify, parts = _when_and_how_often(
        due_day, due_month, due_year, recertify_months, errors
    )
    if errors or due_on is None:
        form = {
            "due_day": due_day,
            "due_month": due_month,
            "due_year": due_year,
            "recertify_months": recertify_months,
        }
        return _one(
            request,
            db,
            scope,
            assignment,
            "manage/assignment_edit.html",
            errors=errors,
            form=form,
            status_code=400,
            due_parts=parts,
        )
    training.change_assignment(
        db, actor=viewer.user, assignment=assignment, due_on=due_on, recertify_months=recertify
    )
    return RedirectResponse("/manage/assignments?done=changed", status_code=303)


@router.get("/manage/assignments/{assignment_id}/delete")
def delete_assignment_page(
    request: Request, db: SessionDep, viewer: SignedInDep, assignment_id: PathId
) -> Response:
    """Ask before required training is removed; cancelling changes nothing."""
    scope = scopes.require_scope(db, viewer.user)
    assignment = training.assignment_in_scope(db, scope, assignment_id)
    return _one(request, db, scope, assignment, "manage/assignment_remove.html")


@router.post("/manage/assignments/{assignment_id}/delete")
def delete_assignment(
    request: Request, db: SessionDep, viewer: SignedInDep, assignment_id: PathId
) -> Response:
    """Stop requiring something, once confirmed (completions already recorded are kept)."""
    scope = scopes.require_scope(db, viewer.user)
    assignment = training.assignment_in_scope(db, scope, assignment_id)
    training.remove_assignment(db, actor=viewer.user, assignment=assignment)
    return RedirectResponse("/manage/assignments?done=removed", status_code=303)
