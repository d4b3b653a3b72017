"""Error pages chosen by status; JSON for clients that ask for JSON; an id for the unexpected."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from elearn.errors import FormError, UserFacingError
from elearn.web.templating import render

log = logging.getLogger("elearn.errors")

_TITLES = {
    404: "Page not found",
    405: "That action is not available here",
    422: "Something in the request was not right",
}


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: Request, status: int, title: str, message: str = "", error_id: str | None = None
) -> Response:
    """A calm error page (or JSON body) for the given status."""
    if _wants_json(request):
        body = {"error": title, "detail": message} | ({"error_id": error_id} if error_id else {})
        return JSONResponse(body, status_code=status)
    template = "errors/404.html" if status == 404 else "errors/error.html"
    return render(
        request,
        template,
        status_code=status,
        title=title,
        message=message,
        error_id=error_id,
        status=status,
    )


async def _user_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UserFacingError)
    return error_response(request, exc.status_code, exc.title, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title = _TITLES.get(exc.status_code, "Something went wrong")
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else ""
    return error_response(request, exc.status_code, title, detail)


async def _validation_error(request: Request, exc: Exception) -> Response:
    return error_response(request, 422, _TITLES[422], "Please go back and try again.")


async def _unexpected(request: Request, exc: Exception) -> Response:
    error_id = secrets.token_hex(4)
    log.error(
        "unhandled error %s on %s %s",
        error_id,
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"error_id": error_id},
    )
    return error_response(
        request,
        500,
        "Sorry, something went wrong on our side",
        "Nothing you did caused this. Please try again in a few minutes.",
        error_id=error_id,
    )


async def _sign_in(request: Request, exc: Exception) -> Response:
    from urllib.parse import quote, urlsplit

    from elearn.web.auth import safe_next
    from elearn.web.deps import SESSION_COOKIE

    target = request.url.path
    if request.method not in ("GET", "HEAD"):
        # A form's own address is not a page: return to the page it was sent from.
        referer = urlsplit(request.headers.get("referer", ""))
        same_site = not referer.netloc or referer.netloc == request.url.netloc
        target = safe_next(referer.path) if same_site else "/learning"
    url = f"/account/sign-in?next={quote(target)}"
    if request.cookies.get(SESSION_COOKIE):
        url += "&reason=timeout"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _form_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FormError)
    return error_response(request, 400, exc.title, exc.message)


def install(app: FastAPI) -> None:
    """Register every error handler on the app."""
    from elearn.web.deps import SignInRequired

    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(FormError, _form_error)
    app.add_exception_handler(UserFacingError, _user_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
