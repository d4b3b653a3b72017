"""Managers and partnership admins: the team view, a person's page, the CSV export and
required training."""

from __future__ import annotations

import csv
import io
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
from elearn.web.deps import SignedInDep, csrf_protect
from elearn.web.pages import catalog_of
from elearn.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)])
Text = Annotated[str, Form()]


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


def _safe(value: str) -> str:
    """A cell that a spreadsheet will show as text, never run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@router.get("/manage/export.csv")
def export(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """The filtered matrix as CSV, one row per person and required module, streamed."""
    scope = scopes.require_scope(db, viewer.user)
    catalog = catalog_of(request)
    filters = scopes.parse_filters(dict(request.query_params), scopes.choices(db, scope, catalog))
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
            "Content-Disposition": f'attachment; filename="training-{today.isoformat()}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/manage/people/{user_id}")
def person_page(request: Request, db: SessionDep, viewer: SignedInDep, user_id: int) -> Response:
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


@router.get("/manage/assignments")
def assignments_page(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """Required training in the viewer's scope, and a form to add some."""
    scope = scopes.require_scope(db, viewer.user)
    return _assignments(request, db, scope, errors={}, form={})


def _assignments(
    request: Request,
    db: Session,
    scope: scopes.Scope,
    *,
    errors: dict[str, str],
    form: dict[str, str],
    status_code: int = 200,
    notice: str | None = None,
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
        teams={t.id: t.name for t in found.teams},
        organisations={o.id: o.name for o in found.organisations},
        titles={
            **{t: title for _, t, title in found.tracks},
            **{m: title for _, m, title in found.modules},
        },
        admin=scope.team_ids is None,
        errors=errors,
        form=form,
        notice=notice,
    )


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
    due_on: Text = "",
    recertify_months: Text = "",
) -> Response:
    """Require a track or module of a team (managers), or of an organisation or a sector
    (partnership admins), by a date."""
    scope = scopes.require_scope(db, viewer.user)
    catalog = catalog_of(request)
    found = scopes.choices(db, scope, catalog)
    form = {
        "item": item,
        "scope_kind": scope_kind,
        "team": team,
        "organisation": organisation,
        "sector": sector,
        "due_on": due_on,
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
        due_on=date.today(),
        created_by_id=viewer.user.id,
    )
    if scope_kind == "team" or scope.team_ids is not None:
        allowed = {str(t.id): t for t in found.teams}
        if team not in allowed:
            if team and team.isdigit():
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
    try:
        assignment.due_on = date.fromisoformat(due_on.strip())
    except ValueError:
        errors["due_on"] = "Enter the due date as a real date, like 2027-03-31"
    months = recertify_months.strip()
    if months:
        if months.isdigit() and 1 <= int(months) <= 120:
            assignment.recertify_months = int(months)
        else:
            errors["recertify_months"] = (
                "Enter a whole number of months from 1 to 120, or leave it empty"
            )
    if errors:
        return _assignments(request, db, scope, errors=errors, form=form, status_code=400)
    db.add(assignment)
    db.commit()
    return RedirectResponse("/manage/assignments?added=1", status_code=303)


@router.post("/manage/assignments/{assignment_id}/delete")
def delete_assignment(
    request: Request, db: SessionDep, viewer: SignedInDep, assignment_id: int
) -> Response:
    """Stop requiring something (completions already recorded are kept)."""
    scope = scopes.require_scope(db, viewer.user)
    assignment = db.get(Assignment, assignment_id)
    if (
        assignment is None
        or assignment.partnership_id != scope.partnership_id
        or (scope.team_ids is not None and not scope.allows_team(assignment.team_id))
    ):
        raise NotFound("There is no such required training among yours.")
    db.delete(assignment)
    db.commit()
    return RedirectResponse("/manage/assignments", status_code=303)
