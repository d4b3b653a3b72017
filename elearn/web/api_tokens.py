"""Partnership admins' pages for reporting API tokens: list, create (shown once), revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from elearn.db import SessionDep
from elearn.errors import FormError, NotFound
from elearn.models import ApiToken, User
from elearn.services import reporting
from elearn.web.deps import SignedInDep, csrf_protect, settings_of
from elearn.web.inputs import PathId, TypedText
from elearn.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)])
Text = TypedText

NOTICES = {"revoked": "The token is revoked. Anything using it can no longer read data."}


def _admin(viewer: SignedInDep) -> User:
    user = viewer.user
    if user.role != "admin":
        raise NotFound("This page is for partnership admins.")
    return user


def _page(
    request: Request,
    db: SessionDep,
    admin: User,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    name: str = "",
    created: ApiToken | None = None,
    secret: str | None = None,
    notice: str | None = None,
) -> Response:
    response = render(
        request,
        "admin/api_tokens.html",
        status_code=status_code,
        rows=reporting.tokens_of(db, admin),
        errors=errors or {},
        name=name,
        created=created,
        secret=secret,
        notice=notice,
        base_url=settings_of(request).public_url,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@router.get("/admin/api-tokens")
def list_tokens(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """The partnership's reporting API tokens (never the tokens themselves), and a form to
    create one."""
    admin = _admin(viewer)
    done = request.query_params.get("done") or ""
    return _page(request, db, admin, notice=NOTICES.get(done))


@router.post("/admin/api-tokens")
def create_token(
    request: Request, db: SessionDep, viewer: SignedInDep, name: Text = ""
) -> Response:
    """Create a token and show it, this once; only its hash is kept."""
    admin = _admin(viewer)
    try:
        token, secret = reporting.create_token(db, admin=admin, name=name)
    except FormError as exc:
        return _page(request, db, admin, status_code=400, errors=exc.fields, name=name)
    return _page(request, db, admin, created=token, secret=secret)


@router.post("/admin/api-tokens/{token_id}/revoke")
def revoke_token(
    request: Request, db: SessionDep, viewer: SignedInDep, token_id: PathId
) -> Response:
    """Revoke a token: it stops working at once."""
    admin = _admin(viewer)
    reporting.revoke_token(db, admin=admin, token_id=token_id)
    return RedirectResponse("/admin/api-tokens?done=revoked", status_code=303)
