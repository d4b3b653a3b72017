"""Request dependencies: who is signing in, and CSRF protection for every form."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from elearn.config import Settings
from elearn.db import SessionDep
from elearn.errors import UserFacingError
from elearn.services import sessions
from elearn.services.sessions import SignedIn

SESSION_COOKIE = "elearn_session"
CSRF_COOKIE = "elearn_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(UserFacingError):
    """The page is for signed-in people; they are sent to sign in and brought back."""

    status_code = 303
    title = "Sign in to continue"


class CsrfFailed(UserFacingError):
    """A form arrived without the token from the page it came from."""

    status_code = 403
    title = "This form has expired"


def settings_of(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_viewer(request: Request, db: SessionDep) -> SignedIn | None:
    """The signed-in person making this request, or None; looked up once per request."""
    return lookup_viewer(request, db)


def lookup_viewer(request: Request, db: Session, *, read_only: bool = False) -> SignedIn | None:
    """As get_viewer; with `read_only`, raises sessions.WriteNeeded rather than write."""
    if "viewer" not in request.state._state:
        token = request.cookies.get(SESSION_COOKIE)
        found_session = sessions.look_up(
            db, token=token, settings=settings_of(request), read_only=read_only
        )
        viewer = found_session.signed_in
        request.state.viewer = viewer
        request.state.ended_for = found_session.ended_for
        if viewer is not None:
            # Pages carry the session's own token, which every form must send back.
            request.state.csrf = viewer.session.csrf_token
            request.state.shell_key = (
                viewer.user.id,
                viewer.user.name,
                viewer.user.role,
                viewer.user.partnership_id,
            )
    found: SignedIn | None = request.state.viewer
    return found


ViewerDep = Annotated[SignedIn | None, Depends(get_viewer)]


def require_viewer(request: Request, viewer: ViewerDep) -> SignedIn:
    """The signed-in person; anyone else is sent to sign in first."""
    if viewer is None:
        raise SignInRequired(request.url.path)
    return viewer


SignedInDep = Annotated[SignedIn, Depends(require_viewer)]


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request from another site, or without the right token.

    Signed in, the token must be the one stored with the session; signed out, the one in the
    browser's CSRF cookie. The browser's Origin (or, without it, Sec-Fetch-Site or Referer)
    must be this service."""
    if request.method in SAFE_METHODS:
        return
    if not same_origin(request):
        raise CsrfFailed(
            "This form was sent from another website, so it was not accepted. Nothing was "
            "saved. Go to this service's own page and try again."
        )
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = request.cookies.get(CSRF_COOKIE)
    if SESSION_COOKIE in request.cookies:
        viewer = await _viewer_off_loop(request)
        if viewer is not None:
            expected = viewer.session.csrf_token
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise CsrfFailed("Go back, reload the page and try again. Nothing was saved.")


def _origins(request: Request) -> set[str]:
    """Origins this service answers at: its public address, and the address asked for."""
    public = urlsplit(settings_of(request).public_url)
    found = {f"{public.scheme}://{public.netloc}".lower()}
    host = request.headers.get("host")
    if host:
        found.add(f"{request.url.scheme}://{host}".lower())
    return found


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from this service's own pages.

    A browser sends Origin with every such request: it must be ours (never "null", sent by
    sandboxed frames and some redirects). Without Origin, Sec-Fetch-Site must say same-origin
    (or "none": typed by the person), and a Referer must be ours. A client that sends none of
    them is not a browser carrying someone's cookies by surprise; its token is still checked."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() in _origins(request)
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() in _origins(request)
    return True


def cookie_header(
    name: str, value: str, *, settings: Settings, max_age: int | None = None, clear: bool = False
) -> bytes:
    """A Set-Cookie header value: HttpOnly, SameSite=Lax, Secure outside development."""
    parts = [f"{name}={'' if clear else value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if settings.secure_cookies:
        parts.append("Secure")
    if clear:
        parts.append("Max-Age=0")
    elif max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts).encode()


class CsrfCookie:
    """Gives every browser a CSRF token cookie and puts the token where templates find it."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.prefix = f"{CSRF_COOKIE}=".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the cookie, or mint one and set it on the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie(scope, self.prefix)
        fresh = token is None
        token = token or secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = token

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k == b"set-cookie" and v.startswith(self.prefix) for k, v in headers):
                    headers.append(
                        (b"set-cookie", cookie_header(CSRF_COOKIE, token, settings=self.settings))
                    )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie(scope: Scope, prefix: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.split(b";"):
                part = part.strip()
                if part.startswith(prefix):
                    return part[len(prefix) :].decode() or None
    return None


async def resolve_viewer(request: Request) -> SignedIn | None:
    """For async pages: look the viewer up (off the event loop) only when a cookie is sent."""
    if SESSION_COOKIE not in request.cookies:
        return None
    return await _viewer_off_loop(request)


async def _viewer_off_loop(request: Request) -> SignedIn | None:
    """The viewer, looked up once per request in a worker thread."""
    from sqlmodel import Session
    from starlette.concurrency import run_in_threadpool

    def lookup() -> SignedIn | None:
        with Session(request.app.state.engine) as db:
            return get_viewer(request, db)

    return await run_in_threadpool(lookup)
