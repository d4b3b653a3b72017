"""A calm 503 while the database cannot be reached; service resumes by itself when it returns."""

from __future__ import annotations

import logging
import sqlite3

from fastapi import FastAPI, Request
from sqlalchemy import exc as sa_exc
from starlette.responses import JSONResponse, Response

from elearn.web.templating import render

log = logging.getLogger("elearn.database")

TITLE = "This service is temporarily unavailable"
MESSAGE = "Nothing you did caused this. Please try again in a few minutes."
RETRY_AFTER_SECONDS = 10
HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
# SQLite's own words for a database that is busy or cannot be read, as opposed to a bug.
_SQLITE_OUTAGES = ("locked", "busy", "unable to open", "disk i/o", "readonly", "read-only")


def is_outage(exc: BaseException) -> bool:
    """True when the error means the database cannot be reached or cannot answer in time."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa_exc.OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return any(word in str(exc.orig).lower() for word in _SQLITE_OUTAGES)
    return True  # PostgreSQL: connection lost or refused, statement timeout, shutting down


def unavailable_response(request: Request) -> Response:
    """The 503 page, or a JSON body for the API and for clients asking for JSON."""
    accept = request.headers.get("accept", "")
    wants_json = "application/json" in accept and "text/html" not in accept
    if wants_json or request.url.path.startswith("/api/"):
        body = {"error": TITLE, "detail": MESSAGE}
        return JSONResponse(body, status_code=503, headers=HEADERS)
    # The page says nothing about who was signed in: the layout shows no account links.
    for name in ("viewer", "shell_key"):
        request.state._state.pop(name, None)
    response = render(request, "errors/unavailable.html", status_code=503, title=TITLE)
    response.headers.update(HEADERS)
    return response


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    if not is_outage(exc):
        raise exc  # a bug, not an outage: the page for unexpected errors, with its id
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url.path,
        reason[0] if reason else type(exc).__name__,  # never the statement or its values
    )
    return unavailable_response(request)


def install(app: FastAPI) -> None:
    """Answer 503 "temporarily unavailable" for database errors that mean an outage."""
    app.add_exception_handler(sa_exc.DBAPIError, _database_unavailable)
    app.add_exception_handler(sa_exc.TimeoutError, _database_unavailable)
