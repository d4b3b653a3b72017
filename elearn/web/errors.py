"""Error pages chosen by status; JSON for clients that ask for JSON; an id for the unexpected."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
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


def _problem(error: dict[str, object]) -> str:
    """One refused value as a sentence: which field, and what was wrong with it."""
    loc = error.get("loc") or ()
    field = (
        str(loc[-1]).replace("_", " ").replace("-", " ")
        if isinstance(loc, (list, tuple)) and loc
        else "value"
    )
    context = error.get("ctx") if isinstance(error.get("ctx"), dict) else {}
    assert isinstance(context, dict)
    kind = error.get("type")
    if kind == "string_too_long":
        return f"The {field} must be {context.get('max_length')} characters or fewer."
    if kind == "less_than_equal":
        return f"The {field} must be {context.get('le')} or less."
    if kind == "greater_than_equal":
        return f"The {field} must be {context.get('ge')} or more."
    if kind in ("int_parsing", "int_from_float"):
        return f"The {field} must be a whole number."
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return f"The {field} {message}."


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if all(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
        # An address that cannot name anything (an id out of range, an over-long code).
        return error_response(request, 404, _TITLES[404])
    problems = list(dict.fromkeys(_problem(e) for e in exc.errors()))[:5]
    message = " ".join([*problems, "Please go back, correct it and try again."])
    return error_response(request, 422, _TITLES[422], message)


async def _unstorable(request: Request, exc: Exception) -> Response:
    """A value the database refused (too long for its column, a NUL character, a number out
    of range) that slipped past the checks at the boundary: a calm 400, logged with an id."""
    error_id = secrets.token_hex(4)
    log.warning(
        "value refused by the database %s on %s %s: %s",
        error_id,
        request.method,
        request.url.path,
        type(getattr(exc, "orig", exc)).__name__,
        extra={"error_id": error_id},
    )
    return error_response(
        request,
        400,
        "Something you sent could not be saved",
        "A value was too long, too large or had a character that cannot be stored, so nothing "
        "was saved. Please go back, correct it and try again.",
        error_id=error_id,
    )


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
    kept = await _keep_form(request)
    response: Response
    if request.headers.get("hx-request"):
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if kept:
        from elearn.services.kept_forms import KEEP_FOR, KEPT_COOKIE
        from elearn.web.deps import cookie_header, settings_of

        max_age = int(KEEP_FOR.total_seconds())
        settings = settings_of(request)
        header = cookie_header(KEPT_COOKIE, kept, settings=settings, max_age=max_age)
        response.raw_headers.append((b"set-cookie", header))
    return response


async def _keep_form(request: Request) -> str | None:
    """Keep a form whose sender's session ended on this very request; the browser's token.

    Only a text form that passed the CSRF check on its way here is kept, for the person whose
    session it was, so that signing in again completes it (see services.kept_forms).
    """
    from sqlmodel import Session
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import UploadFile

    from elearn.services import kept_forms
    from elearn.web.deps import CSRF_FIELD

    user_id = getattr(request.state, "ended_for", None)
    if request.method != "POST" or user_id is None or not kept_forms.keepable(request.url.path):
        return None
    try:
        form = await request.form()
    except Exception:  # a body already read as something else, or not a form at all
        return None
    fields = list(form.multi_items())
    if any(isinstance(value, UploadFile) for _, value in fields):
        return None
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    def store() -> str | None:
        with Session(request.app.state.engine) as db:
            return kept_forms.keep(
                db,
                user_id=user_id,
                path=path,
                fields=[(name, str(value)) for name, value in fields],
                drop=CSRF_FIELD,
            )

    return await run_in_threadpool(store)


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
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OverflowError, _unstorable)  # SQLite: a number beyond 64 bits
    app.add_exception_handler(Exception, _unexpected)
