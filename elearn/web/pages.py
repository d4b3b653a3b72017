"""Public course pages: the catalogue, a track, a module, and support."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from elearn.content.catalog import Catalog, CourseView, TrackView
from elearn.errors import NotFound
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
    return render_cached(request, "learn/home.html", (), courses=catalog_of(request).courses)


@router.get("/courses/{course_id}/{track_id}", response_class=HTMLResponse)
async def track_page(request: Request) -> Response:
    """A track's modules in order."""
    course_id, track_id = request.path_params["course_id"], request.path_params["track_id"]
    course, track = _course_track(request, course_id, track_id)
    return render_cached(
        request, "learn/track.html", (course_id, track_id), course=course, track=track
    )


@router.get("/courses/{course_id}/{track_id}/{module_id}", response_class=HTMLResponse)
async def module_page(request: Request) -> Response:
    """A module's lessons as this track shows them."""
    course_id, track_id = request.path_params["course_id"], request.path_params["track_id"]
    module_id = request.path_params["module_id"]
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


@router.get("/support", response_class=HTMLResponse)
async def support(request: Request) -> HTMLResponse:
    """Where to get help now, on every page."""
    return render(request, "support.html")
