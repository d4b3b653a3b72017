"""The loaded courses the app serves, rendered once and swapped atomically on reload."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from markupsafe import Markup

from elearn.content.loader import LoadedCourse, LoadedModule, LoadResult, load
from elearn.content.markdown import render_block, render_inline
from elearn.content.problems import ContentError
from elearn.content.schema import Course, Lesson, Module, Track

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LessonView:
    """A lesson as one track shows it, with its Markdown already rendered."""

    id: str
    title: str
    kind: str
    html: Markup | None
    prompt: Markup | None


@dataclass(frozen=True)
class ModuleView:
    """A module with every track's lessons pre-rendered."""

    model: Module
    course_id: str
    sha256: str
    summary: Markup
    content_note: Markup | None
    by_track: dict[str, tuple[LessonView, ...]]
    shared: tuple[LessonView, ...]

    @property
    def id(self) -> str:
        """The module id."""
        return self.model.id

    def lessons(self, track_id: str | None = None) -> tuple[LessonView, ...]:
        """The lessons as learners on this track see them."""
        return self.by_track.get(track_id or "", self.shared)


@dataclass(frozen=True)
class TrackView:
    """A track with its modules in order."""

    model: Track
    course_id: str
    modules: tuple[ModuleView, ...]

    @property
    def id(self) -> str:
        """The track id."""
        return self.model.id

    @property
    def minutes(self) -> int:
        """Estimated time for the whole track."""
        return sum(m.model.minutes for m in self.modules)


@dataclass(frozen=True)
class CourseView:
    """A course, its tracks and its modules."""

    model: Course
    summary: Markup
    tracks: tuple[TrackView, ...]
    modules: dict[str, ModuleView]

    @property
    def id(self) -> str:
        """The course id."""
        return self.model.id

    def track(self, track_id: str) -> TrackView | None:
        """A track of this course, or None."""
        return next((t for t in self.tracks if t.id == track_id), None)


@dataclass(frozen=True)
class Catalog:
    """Every course being served, with a version that changes when any file changes."""

    courses: tuple[CourseView, ...]
    version: str
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    rendered: dict[tuple[str, str, tuple[str, ...]], ModuleView] = field(
        default_factory=dict, repr=False, compare=False
    )

    def course(self, course_id: str) -> CourseView | None:
        """A course by id, or None."""
        return next((c for c in self.courses if c.id == course_id), None)

    @property
    def module_count(self) -> int:
        """How many modules are served."""
        return sum(len(c.modules) for c in self.courses)


def _lesson_view(lesson: Lesson, track_id: str | None, shared_html: Markup | None) -> LessonView:
    html = shared_html
    variant = lesson.variants.get(track_id) if track_id else None
    if variant is not None and variant.replace is not None:
        html = render_block(variant.replace)
    elif variant is not None and variant.add is not None:
        html = (shared_html or Markup("")) + render_block(variant.add)
    prompt = render_inline(lesson.prompt) if lesson.prompt else None
    return LessonView(lesson.id, lesson.title, lesson.kind, html, prompt)


def _module_view(loaded: LoadedModule, course: Course) -> ModuleView:
    module = loaded.model
    shared_html = {
        lesson.id: render_block(lesson.body) if lesson.body else None for lesson in module.lessons
    }
    shared = tuple(_lesson_view(le, None, shared_html[le.id]) for le in module.lessons)
    by_track = {}
    for track in course.tracks:
        if module.id in track.modules:
            by_track[track.id] = tuple(
                _lesson_view(le, track.id, shared_html[le.id]) for le in module.lessons
            )
    return ModuleView(
        model=module,
        course_id=course.id,
        sha256=loaded.source.sha256,
        summary=render_inline(module.summary),
        content_note=render_inline(module.content_note) if module.content_note else None,
        by_track=by_track,
        shared=shared,
    )


RenderCache = dict[tuple[str, str, tuple[str, ...]], ModuleView]


def _course_view(loaded: LoadedCourse, previous: RenderCache, rendered: RenderCache) -> CourseView:
    course = loaded.model
    modules = {}
    for mid, module in loaded.modules.items():
        users = tuple(t.id for t in course.tracks if mid in t.modules)
        key = (course.id, module.source.sha256, users)
        view = previous.get(key) or _module_view(module, course)
        rendered[key] = modules[mid] = view
    tracks = tuple(
        TrackView(t, course.id, tuple(modules[mid] for mid in t.modules)) for t in course.tracks
    )
    return CourseView(course, render_inline(course.summary), tracks, modules)


def build(result: LoadResult, previous: Catalog | None = None) -> Catalog:
    """Render a clean load result into a catalogue; raises ContentError if it has errors.

    Modules whose file and tracks are unchanged since `previous` are not rendered again.
    """
    if not result.ok:
        raise ContentError(result.problems)
    digest = hashlib.sha256()
    for loaded in result.courses:
        digest.update(loaded.source.sha256.encode())
        for mid in sorted(loaded.modules):
            digest.update(loaded.modules[mid].source.sha256.encode())
    old = previous.rendered if previous else {}
    rendered: RenderCache = {}
    ordered = sorted(result.courses, key=lambda c: c.model.title)
    courses = tuple(_course_view(c, old, rendered) for c in ordered)
    return Catalog(courses=courses, version=digest.hexdigest()[:12], rendered=rendered)


def load_catalog(directory: Path) -> Catalog:
    """Load and render every course under a folder; raises ContentError on any error."""
    return build(load([directory]))


class CatalogStore:
    """Holds the catalogue being served and replaces it whole when content changes."""

    def __init__(self, directory: Path, catalog: Catalog) -> None:
        self.directory = directory
        self._catalog = catalog
        self._lock = threading.Lock()
        self.last_problems: list[str] = []

    @property
    def current(self) -> Catalog:
        """The catalogue to serve now."""
        return self._catalog

    def reload(self) -> bool:
        """Revalidate the folder; swap in the new catalogue only if it is valid."""
        with self._lock:
            result = load([self.directory])
            self.last_problems = [str(p) for p in result.problems]
            if not result.ok:
                for problem in result.errors:
                    log.error("course content rejected: %s", problem)
                log.error("kept content version %s; fix the errors above", self._catalog.version)
                return False
            catalog = build(result, previous=self._catalog)
            if catalog.version != self._catalog.version:
                log.info("course content reloaded: version %s", catalog.version)
            self._catalog = catalog
            gc.collect()
            gc.freeze()  # the new catalogue is long-lived: keep it out of full collections
            return True

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload whenever a YAML file under the folder changes, until `stop` is set."""
        from watchfiles import awatch

        async for changes in awatch(
            self.directory, stop_event=stop, debounce=300, step=50, recursive=True
        ):
            if any(path.endswith((".yaml", ".yml")) for _, path in changes):
                await asyncio.to_thread(self.reload)
