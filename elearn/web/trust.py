"""Pages that say plainly what is kept and who sees it, and the quick exit."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from elearn.db import SessionDep
from elearn.services import sessions
from elearn.web.deps import CSRF_COOKIE, SESSION_COOKIE, cookie_header, resolve_viewer, settings_of
from elearn.web.templating import render

router = APIRouter()


@router.get("/privacy", response_class=HTMLResponse)
async def privacy(request: Request) -> Response:
    """The privacy notice: what is kept, who sees it, for how long, and people's rights."""
    await resolve_viewer(request)
    return render(request, "trust/privacy.html", settings=settings_of(request))


@router.get("/cookies", response_class=HTMLResponse)
async def cookies(request: Request) -> Response:
    """The cookies this service sets: essential ones only."""
    await resolve_viewer(request)
    return render(request, "trust/cookies.html", settings=settings_of(request))


@router.get("/practice-levels", response_class=HTMLResponse)
async def practice_levels(request: Request) -> Response:
    """What the four NES practice levels mean and where to go next."""
    await resolve_viewer(request)
    return render(request, "trust/practice_levels.html")


def _from_this_site(request: Request) -> bool:
    """True when the browser says the click came from one of this service's own pages."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    referer = urlsplit(request.headers.get("referer", ""))
    return referer.netloc == request.url.netloc


@router.get("/exit")
def exit_page(request: Request, db: SessionDep) -> Response:
    """Leave at once for the neutral page; sign out first, unless a setting says not to.

    Only a click on this service's own pages signs out, so another site cannot end a session."""
    settings = settings_of(request)
    response = RedirectResponse(settings.exit_url, status_code=303)
    response.headers["cache-control"] = "no-store"
    token = request.cookies.get(SESSION_COOKIE)
    if settings.exit_ends_session and token and _from_this_site(request):
        sessions.end_session(db, token=token)
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.raw_headers.append(
                (b"set-cookie", cookie_header(name, "", settings=settings, clear=True))
            )
    return response
