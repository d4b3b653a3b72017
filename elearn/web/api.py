"""The read-only reporting API under /api/v1, for partnership data teams.

Authenticated only by `Authorization: Bearer <token>` (a token a partnership admin creates
at /admin/api-tokens), never by the session cookie, so it needs no CSRF protection. Errors
are JSON (`{"detail": ...}`) whatever the client accepts, unlike the HTML pages.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from elearn.db import SessionDep
from elearn.services import reporting
from elearn.web.inputs import OptionalQueryText, QueryDate, QueryId
from elearn.web.pages import catalog_of

log = logging.getLogger("elearn.api")

NO_STORE = {"Cache-Control": "private, no-store"}


class ErrorOut(BaseModel):
    """Why a request was refused."""

    detail: Any


class JsonErrors(APIRoute):
    """Routes whose errors (bad token, bad parameters, failures) are always JSON bodies
    with the standard `detail` key, rather than the site's HTML error pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The usual handler, with its errors turned into JSON here."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                return JSONResponse(
                    {"detail": exc.detail},
                    status_code=exc.status_code,
                    headers={**NO_STORE, **(exc.headers or {})},
                )
            except RequestValidationError as exc:
                return JSONResponse(
                    {"detail": jsonable_encoder(exc.errors())}, status_code=422, headers=NO_STORE
                )
            except Exception as exc:
                from elearn.web import unavailable

                if unavailable.is_outage(exc):
                    return unavailable.unavailable_response(request)
                error_id = secrets.token_hex(4)
                log.exception(
                    "unhandled API error %s on %s %s",
                    error_id,
                    request.method,
                    request.url.path,
                    extra={"error_id": error_id},
                )
                return JSONResponse(
                    {"detail": "Something went wrong on our side.", "error_id": error_id},
                    status_code=500,
                    headers=NO_STORE,
                )

        return handle


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    bearerFormat="opaque token",
    description="A reporting API token created by a partnership admin at /admin/api-tokens.",
)

router = APIRouter(
    prefix="/api/v1",
    tags=["reporting"],
    route_class=JsonErrors,
    responses={
        401: {"model": ErrorOut, "description": "Missing, unknown or revoked token"},
        422: {"model": ErrorOut, "description": "A malformed parameter or cursor"},
    },
)


def api_scope(
    db: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> reporting.ApiScope:
    """The token's scope; 401 unless it is a live token of a current admin."""
    scope = reporting.authenticate(db, credentials.credentials if credentials else None)
    if scope is None:
        raise HTTPException(
            status_code=401,
            detail="Send a valid reporting API token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return scope


ScopeDep = Annotated[reporting.ApiScope, Depends(api_scope)]
Limit = Annotated[
    int,
    Query(ge=1, le=reporting.MAX_LIMIT, description="Items per page (at most 1000)."),
]
Cursor = Annotated[
    OptionalQueryText,
    Query(max_length=200, description="The `next_cursor` of the previous page."),
]
OrganisationQ = Annotated[QueryId, Query(description="Only people of this organisation id.")]
TeamQ = Annotated[QueryId, Query(description="Only people of this team id.")]
SectorQ = Annotated[
    OptionalQueryText,
    Query(max_length=80, description="Only people whose organisation is in this sector."),
]


def _bad_cursor(exc: reporting.BadCursor) -> HTTPException:
    return HTTPException(status_code=422, detail=str(exc))


@router.get("/completions", response_model=reporting.CompletionPage)
def completions(
    request: Request,
    response: Response,
    db: SessionDep,
    scope: ScopeDep,
    organisation: OrganisationQ = None,
    team: TeamQ = None,
    sector: SectorQ = None,
    track: Annotated[
        OptionalQueryText,
        Query(
            max_length=80,
            description="Track rows of this track, and module rows of the modules in it.",
        ),
    ] = None,
    module: Annotated[
        OptionalQueryText,
        Query(max_length=80, description="Only module rows of this module (no track rows)."),
    ] = None,
    kind: Annotated[
        Literal["module", "track"] | None, Query(description="Only module or only track rows.")
    ] = None,
    since: Annotated[
        QueryDate, Query(description="Completed on or after this day (UTC), YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        QueryDate, Query(description="Completed on or before this day (UTC), YYYY-MM-DD.")
    ] = None,
    limit: Limit = reporting.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> reporting.CompletionPage:
    """Module and track completions of the people in the token's partnership, in a stable
    order (by completion id). Filter values that do not exist here are ignored, with a note.
    Reflections and individual quiz answers are never included."""
    catalog = catalog_of(request)
    filters = reporting.parse_filters(
        db,
        scope,
        catalog,
        organisation=organisation,
        team=team,
        sector=sector,
        track=track,
        module=module,
        kind=kind,
        since=since,
        until=until,
    )
    try:
        page = reporting.completions(db, scope, catalog, filters, limit=limit, cursor=cursor)
    except reporting.BadCursor as exc:
        raise _bad_cursor(exc) from exc
    response.headers.update(NO_STORE)
    return page


@router.get("/people", response_model=reporting.PeoplePage)
def people(
    request: Request,
    response: Response,
    db: SessionDep,
    scope: ScopeDep,
    organisation: OrganisationQ = None,
    team: TeamQ = None,
    sector: SectorQ = None,
    limit: Limit = reporting.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> reporting.PeoplePage:
    """The people in the token's partnership, with their organisation, team and sector, in
    id order: join completions to them by `person.id`."""
    filters = reporting.parse_filters(
        db, scope, catalog_of(request), organisation=organisation, team=team, sector=sector
    )
    try:
        page = reporting.people(db, scope, filters, limit=limit, cursor=cursor)
    except reporting.BadCursor as exc:
        raise _bad_cursor(exc) from exc
    response.headers.update(NO_STORE)
    return page
