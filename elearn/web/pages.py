"""Public course pages: the catalogue, a track, a module, and support."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from elearn.content.catalog import Catalog, CourseView, TrackView
from elearn.db import SessionDep
from elearn.errors import NotFound
from elearn.services import partnerships
from elearn.services.sessions import SignedIn
from elearn.web.deps import ViewerDep, resolve_viewer
from elearn.web.templating import render, render_cached

router = APIRouter()
# Hot pages read their path parameters from request.path_params (all plain strings):
# declaring them as arguments costs FastAPI a validation pass per request.


def catalog_of(request: Request) -> Catalog:
    """The catalogue being served right now."""
    catalog: Catalog = request.app.state.catalog.current
    return catalog


def _course_track(request: Request, course_id: str, track_id: str) -> tuple[CourseView, TrackView]:
    course = catalog_of(request).course(course_id)
    track = course.track(track_id) if course else None
    if course is None or track is None:
        raise NotFound("There is no such course or track.")
    return course, track


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """Every course and its tracks."""
    await resolve_viewer(request)
    return render_cached(request, "learn/home.html", (), courses=catalog_of(request).courses)


@router.get("/courses/{course_id}/{track_id}", response_class=HTMLResponse)
async def track_page(request: Request) -> Response:
    """A track's modules in order."""
    course_id, track_id = request.path_params["course_id"], request.path_params["track_id"]
    course, track = _course_track(request, course_id, track_id)
    viewer = await resolve_viewer(request)
    if viewer is not None:
        return await run_in_threadpool(_track_for, request, viewer, course, track)
    return render_cached(
        request, "learn/track.html", (course_id, track_id), course=course, track=track
    )


@router.get("/courses/{course_id}/{track_id}/{module_id}", response_class=HTMLResponse)
async def module_page(request: Request) -> Response:
    """A module's lessons as this track shows them."""
    course_id, track_id = request.path_params["course_id"], request.path_params["track_id"]
    module_id = request.path_params["module_id"]
    await resolve_viewer(request)
    course, track = _course_track(request, course_id, track_id)
    module = next((m for m in track.modules if m.id == module_id), None)
    if module is None:
        raise NotFound("This track has no such module.")
    position = track.modules.index(module)
    return render_cached(
        request,
        "learn/module.html",
        (course_id, track_id, module_id),
        course=course,
        track=track,
        module=module,
        lessons=module.lessons(track.id),
        previous=track.modules[position - 1] if position else None,
        next=track.modules[position + 1] if position + 1 < len(track.modules) else None,
    )


def _track_for(
    request: Request, viewer: SignedIn, course: CourseView, track: TrackView
) -> Response:
    """A track page with the learner's progress, or a button to start it."""
    from sqlmodel import Session

    from elearn.services import progress

    assert viewer.user.id is not None
    with Session(request.app.state.engine) as db:
        enrolled = any(
            e.course_id == course.id and e.track_id == track.id
            for e in progress.enrolments(db, user_id=viewer.user.id)
        )
        status = (
            progress.track_status(db, user_id=viewer.user.id, track=track) if enrolled else None
        )
    return render(
        request, "learn/track.html", course=course, track=track, status=status, enrolled=enrolled
    )


@router.get("/support", response_class=HTMLResponse)
def support(request: Request, db: SessionDep, viewer: ViewerDep) -> Response:
    """Where to get help now: national services and each partnership's own."""
    return _support(request, db, None)


@router.get("/support/{partnership_id}", response_class=HTMLResponse)
def partnership_support(
    request: Request, db: SessionDep, viewer: ViewerDep, partnership_id: str
) -> Response:
    """One partnership's support page."""
    return _support(request, db, partnership_id)


def _support(request: Request, db: SessionDep, partnership_id: str | None) -> Response:
    every = partnerships.partnerships(db)
    chosen = next((p for p in every if p.id == partnership_id), None)
    if partnership_id is not None and chosen is None:
        raise NotFound("There is no such partnership.")
    shown = [chosen] if chosen else every
    return render(
        request,
        "support.html",
        chosen=chosen,
        everyone=every,
        national=partnerships.support_contacts(db, partnership_id=None),
        local=[(p, partnerships.support_contacts(db, partnership_id=p.id)) for p in shown],
    )


@router.get("/accessibility", response_class=HTMLResponse)
async def accessibility(request: Request) -> Response:
    """The accessibility statement."""
    await resolve_viewer(request)
    contact = request.app.state.settings.accessibility_contact
    return render_cached(
        request, "accessibility.html", (), statement=accessibility_statement(contact)
    )


@lru_cache(maxsize=4)
def accessibility_statement(contact: str) -> Markup:
    """docs/accessibility-statement.md with the contact address from settings, rendered once."""
    from markupsafe import escape

    from elearn.content.markdown import render_block

    path = Path(__file__).resolve().parents[2] / "docs" / "accessibility-statement.md"
    text = path.read_text("utf-8").split("\n", 1)[1]  # its own title is the page heading
    html, safe = str(render_block(text)), str(escape(contact))
    # Both parts are escaped already: the statement by the Markdown renderer, the contact here.
    return Markup(html.replace("%7Bcontact%7D", safe).replace("{contact}", safe))  # noqa: S704
