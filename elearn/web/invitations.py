"""Managers and partnership admins invite people to their teams: one by one, or from a CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from elearn.db import SessionDep
from elearn.errors import FormError, NotFound
from elearn.services import invitations
from elearn.services.invitations import CannotResend, Reach, Resent, UnreadableFile
from elearn.web.deps import SignedInDep, csrf_protect, settings_of
from elearn.web.inputs import PathId, TypedText, whole_number
from elearn.web.pages import catalog_of
from elearn.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)])
Text = TypedText
Upload = Annotated[UploadFile | None, File()]
EMPTY_FORM = {"name": "", "email": "", "team": "", "role": "learner"}


def _page(
    request: Request,
    db: SessionDep,
    reach: Reach,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    csv_team: str = "",
    status_code: int = 200,
    **context: Any,
) -> Response:
    only = str(reach.teams[0].id) if len(reach.teams) == 1 else ""
    return render(
        request,
        "manage/invite.html",
        status_code=status_code,
        reach=reach,
        errors=errors or {},
        form=form or {**EMPTY_FORM, "team": only},
        csv_team=csv_team or only,
        recent=invitations.recent(db, reach),
        days=settings_of(request).invitation_days,
        max_rows=invitations.MAX_ROWS,
        **context,
    )


def _just_resent(request: Request, db: SessionDep, reach: Reach) -> Resent | None:
    """The invitation named by the redirect after a re-send, when it is within reach."""
    invitation_id = whole_number(request.query_params.get("resent", ""))
    if invitation_id is None:
        return None
    try:
        invitation = invitations.in_reach(db, reach, invitation_id)
    except NotFound:
        return None
    team = reach.names().get(invitation.team_id or 0, "")
    emailed = request.query_params.get("emailed") != "no"
    return invitations.resent_of(invitation, team, emailed=emailed)


@router.get("/manage/invitations")
def invitations_page(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """Invite one person or a CSV file of people, and see recent invitations."""
    reach = invitations.reach_of(db, viewer.user)
    return _page(request, db, reach, resent=_just_resent(request, db, reach))


@router.post("/manage/invitations")
def invite_one(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    name: Text = "",
    email: Text = "",
    team: Text = "",
    role: Text = "learner",
) -> Response:
    """Invite one person; errors beside their fields, with what was typed kept."""
    reach = invitations.reach_of(db, viewer.user)
    form = {"name": name, "email": email, "team": team, "role": role}
    try:
        chosen, sent = invitations.invite_one(
            db,
            reach=reach,
            team_id=team,
            name=name,
            email=email,
            role=role,
            settings=settings_of(request),
            catalog=catalog_of(request),
        )
    except FormError as exc:
        return _page(request, db, reach, errors=exc.fields, form=form, status_code=400)
    return _page(request, db, reach, form={**EMPTY_FORM, "team": team}, sent=sent, sent_team=chosen)


def _upload_bytes(upload: UploadFile | None) -> bytes | None:
    """The file's bytes (at most one more than the limit), or None when no file was chosen."""
    if upload is None or not upload.filename:
        return None
    data: bytes = upload.file.read(invitations.MAX_BYTES + 1)
    return data


@router.post("/manage/invitations/csv")
def invite_csv(
    request: Request, db: SessionDep, viewer: SignedInDep, team: Text = "", file: Upload = None
) -> Response:
    """Invite everyone in a CSV file, or, if any row has a problem, nobody: a report either way."""
    reach = invitations.reach_of(db, viewer.user)
    chosen = reach.team(team) if team.strip() else None
    errors: dict[str, str] = {}
    if chosen is None:
        errors["csv_team"] = "Select the team to invite everyone in the file to"
    data = _upload_bytes(file)
    rows: list[invitations.Row] = []
    if data is None:
        errors["csv_file"] = "Select a CSV file"
    else:
        try:
            rows = invitations.read_csv(data)
        except UnreadableFile as exc:
            errors["csv_file"] = exc.message
    if errors or chosen is None:
        return _page(request, db, reach, errors=errors, csv_team=team, status_code=400)
    checked, sent = invitations.invite_all(
        db,
        reach=reach,
        team=chosen,
        rows=rows,
        settings=settings_of(request),
        catalog=catalog_of(request),
    )
    return render(
        request,
        "manage/invite_csv_result.html",
        status_code=400 if checked.problems else 200,
        reach=reach,
        team=chosen,
        organisation=reach.organisations.get(chosen.organisation_id),
        checked=checked,
        sent=sent,
        file_name=((file.filename if file else "") or "")[:100],
        errors={},
        csv_team=str(chosen.id),
        days=settings_of(request).invitation_days,
        max_rows=invitations.MAX_ROWS,
    )


@router.post("/manage/invitations/{invitation_id}/resend")
def resend(
    request: Request, db: SessionDep, viewer: SignedInDep, invitation_id: PathId
) -> Response:
    """Email a waiting or expired invitation again with a fresh link; the old link stops
    working. An accepted invitation is not re-sent: the page says why."""
    reach = invitations.reach_of(db, viewer.user)
    try:
        resent = invitations.resend(
            db,
            reach=reach,
            invitation_id=invitation_id,
            settings=settings_of(request),
            catalog=catalog_of(request),
        )
    except CannotResend as exc:
        return _page(
            request, db, reach, errors={"recent": exc.message}, status_code=exc.status_code
        )
    emailed = "" if resent.emailed else "&emailed=no"
    return RedirectResponse(f"/manage/invitations?resent={resent.id}{emailed}", status_code=303)
