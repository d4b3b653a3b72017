"""The learner journey: my learning, enrolment, lessons, reflections and quizzes."""

from __future__ import annotations

import contextlib
from typing import Annotated, NamedTuple

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from elearn.content.catalog import CourseView, LessonView, ModuleView, TrackView
from elearn.db import SessionDep
from elearn.errors import FormError, NotFound
from elearn.models import Organisation, QuizAttempt, Reflection, utcnow
from elearn.services import (
    certificates,
    completion,
    my_training,
    progress,
    quiz,
    sessions,
    statuses,
)
from elearn.web.deps import (
    SignedInDep,
    csrf_protect,
    get_viewer,
    lookup_viewer,
    require_viewer,
    settings_of,
)
from elearn.web.inputs import FormText, LongText, PathId
from elearn.web.pages import catalog_of
from elearn.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)])
MODULE = "/courses/{course_id}/{track_id}/{module_id}"


def _locate(
    request: Request, course_id: str, track_id: str, module_id: str | None = None
) -> tuple[CourseView, TrackView, ModuleView | None]:
    course = catalog_of(request).course(course_id)
    track = course.track(track_id) if course else None
    if course is None or track is None:
        raise NotFound("There is no such course or track.")
    if module_id is None:
        return course, track, None
    module = next((m for m in track.modules if m.id == module_id), None)
    if module is None:
        raise NotFound("This track has no such module.")
    return course, track, module


def _module(
    request: Request, course_id: str, track_id: str, module_id: str
) -> tuple[CourseView, TrackView, ModuleView]:
    course, track, module = _locate(request, course_id, track_id, module_id)
    assert module is not None
    return course, track, module


class Here(NamedTuple):
    """The course, track and module a request is about."""

    course: CourseView
    track: TrackView
    module: ModuleView


async def _here(request: Request, course_id: str, track_id: str, module_id: str) -> Here:
    """Resolve the module path parameters, or answer 404."""
    return Here(*_module(request, course_id, track_id, module_id))


ModuleDep = Annotated[Here, Depends(_here)]


def _base(track: TrackView, module: ModuleView) -> str:
    return f"/courses/{track.course_id}/{track.id}/{module.id}"


def _after_module(track: TrackView, module: ModuleView) -> str:
    """Where "skip for now" and "continue" lead once a module is left: the next module."""
    position = track.modules.index(module)
    if position + 1 < len(track.modules):
        following = track.modules[position + 1]
        return f"/courses/{track.course_id}/{track.id}/{following.id}"
    return "/learning"


def _valid_certificates(db: Session, user_id: int) -> dict[tuple[str, str], str]:
    """(course id, track id) -> code of the learner's valid certificate for that track."""
    found: dict[tuple[str, str], str] = {}
    for c in certificates.of_user(db, user_id):
        if certificates.status(c) == "valid":
            found.setdefault((c.course_id, c.track_id), c.code)
    return found


@router.get("/learning")
def my_learning(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """Each track the learner is on, with progress and the next step."""
    user_id = viewer.user.id
    assert user_id is not None
    catalog = catalog_of(request)
    rows = []
    for enrolment in progress.enrolments(db, user_id=user_id):
        course = catalog.course(enrolment.course_id)
        track = course.track(enrolment.track_id) if course else None
        if course is not None and track is not None:
            rows.append(
                (course, progress.track_status(db, user_id=user_id, track=track), enrolment)
            )
    done = completion.track_completions(db, user_id=user_id)
    org = db.get(Organisation, viewer.user.organisation_id) if viewer.user.organisation_id else None
    required = my_training.required_of(
        db,
        user=viewer.user,
        catalog=catalog,
        enrolled={enrolment.track_id for _, _, enrolment in rows},
        today=utcnow().date(),
    )
    return render(
        request,
        "learn/my_learning.html",
        rows=rows,
        completed=done,
        required=required,
        tags=statuses.TAGS,
        certificates=_valid_certificates(db, user_id),
        courses=catalog.courses,
        sector=org.sector if org else None,
        user=viewer.user,
    )


@router.post("/courses/{course_id}/{track_id}/enrol")
def enrol(
    request: Request, db: SessionDep, viewer: SignedInDep, course_id: str, track_id: str
) -> Response:
    """Start a track."""
    course, track, _ = _locate(request, course_id, track_id)
    assert viewer.user.id is not None
    progress.enrol(db, user_id=viewer.user.id, course=course, track_id=track.id)
    return RedirectResponse(f"/courses/{course.id}/{track.id}", status_code=303)


@router.get(MODULE + "/start")
def start_module(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    here: ModuleDep,
) -> Response:
    """Begin a module: its content note first when it has one, then the first lesson."""
    course, track, module = here
    first = f"{_base(track, module)}/lessons/{module.model.lessons[0].id}"
    if module.content_note is None:
        return RedirectResponse(first, status_code=303)
    return render(
        request,
        "learn/content_note.html",
        course=course,
        track=track,
        module=module,
        continue_url=first + "?note=seen",
        skip_url=_after_module(track, module),
    )


@router.get(MODULE + "/lessons/{lesson_id}")
async def lesson_page(request: Request, here: ModuleDep, lesson_id: str) -> Response:
    """One lesson, as this track shows it; opening it records progress.

    The busiest page. On SQLite, a lesson read before costs a few reads of about 0.1 ms
    each in process, less than handing them to a worker thread, so they run right here;
    anything that writes (a first view, a session to refresh) goes to a worker thread,
    as does everything on a networked database: one call for all its queries.
    """
    if request.app.state.settings.is_sqlite:
        with contextlib.suppress(sessions.WriteNeeded):
            return _lesson_page(request, here, lesson_id, read_only=True)
    return await run_in_threadpool(_lesson_page, request, here, lesson_id)


def _lesson_page(request: Request, here: Here, lesson_id: str, read_only: bool = False) -> Response:
    course, track, module = here
    lessons = module.lessons(track.id)
    lesson = next((le for le in lessons if le.id == lesson_id), None)
    if lesson is None:
        raise NotFound("This module has no such lesson.")
    with Session(request.app.state.engine, expire_on_commit=False) as db:
        viewer = require_viewer(request, lookup_viewer(request, db, read_only=read_only))
        user_id = viewer.user.id
        assert user_id is not None
        states = progress.lesson_states(
            db, user_id=user_id, course_id=course.id, module_ids=[module.id]
        )
        if module.content_note and not states and request.query_params.get("note") != "seen":
            return RedirectResponse(f"{_base(track, module)}/start", status_code=303)
        if read_only and states.get((module.id, lesson.id)) != "viewed":
            raise sessions.WriteNeeded
        progress.record_lesson(
            db,
            settings=request.app.state.settings,
            user_id=user_id,
            course=course,
            module=module,
            lesson_id=lesson.id,
            known=states.get((module.id, lesson.id)),
        )
        saved = (
            progress.reflection(
                db, user_id=user_id, course_id=course.id, module_id=module.id, lesson_id=lesson.id
            )
            if lesson.kind == "reflection"
            else None
        )
    return _render_lesson(request, course, track, module, lesson, states, saved)


def _render_lesson(
    request: Request,
    course: CourseView,
    track: TrackView,
    module: ModuleView,
    lesson: LessonView,
    states: dict[tuple[str, str], str],
    saved: Reflection | None,
    errors: dict[str, str] | None = None,
    draft: str | None = None,
) -> Response:
    lessons = module.lessons(track.id)
    position = lessons.index(lesson)
    return render(
        request,
        "learn/lesson.html",
        status_code=400 if errors else 200,
        course=course,
        track=track,
        module=module,
        lesson=lesson,
        lessons=lessons,
        position=position,
        states=states,
        previous=lessons[position - 1] if position else None,
        next=lessons[position + 1] if position + 1 < len(lessons) else None,
        reflection=saved,
        draft=draft,
        errors=errors or {},
        notice=None if errors else request.query_params.get("saved"),
        after=_after_module(track, module),
    )


@router.post(MODULE + "/lessons/{lesson_id}/skip")
def skip_lesson(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    here: ModuleDep,
    lesson_id: str,
) -> Response:
    """Skip a lesson for now: no penalty, and it still counts as dealt with."""
    course, track, module = here
    lessons = module.lessons(track.id)
    lesson = next((le for le in lessons if le.id == lesson_id), None)
    if lesson is None:
        raise NotFound("This module has no such lesson.")
    assert viewer.user.id is not None
    progress.record_lesson(
        db,
        settings=settings_of(request),
        user_id=viewer.user.id,
        course=course,
        module=module,
        lesson_id=lesson.id,
        state="skipped",
    )
    position = lessons.index(lesson)
    target = (
        f"{_base(track, module)}/lessons/{lessons[position + 1].id}"
        if position + 1 < len(lessons)
        else _finish_url(track, module)
    )
    return RedirectResponse(target, status_code=303)


def _finish_url(track: TrackView, module: ModuleView) -> str:
    if module.model.quiz is not None:
        return f"{_base(track, module)}/quiz"
    return _after_module(track, module)


@router.post(MODULE + "/lessons/{lesson_id}/reflection")
def save_reflection(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    here: ModuleDep,
    lesson_id: str,
    text: LongText = "",
    action: FormText = "save",
) -> Response:
    """Save or delete the learner's private reflection."""
    course, track, module = here
    lesson = next(
        (le for le in module.lessons(track.id) if le.id == lesson_id and le.kind == "reflection"),
        None,
    )
    if lesson is None:
        raise NotFound("This module has no such reflection.")
    assert viewer.user.id is not None
    url = f"{_base(track, module)}/lessons/{lesson.id}"
    if action == "delete":
        progress.delete_reflection(
            db,
            user_id=viewer.user.id,
            course_id=course.id,
            module_id=module.id,
            lesson_id=lesson.id,
        )
        return RedirectResponse(url + "?saved=deleted#reflection", status_code=303)
    problem = None
    if not text.strip():
        problem = "Write something to save, or leave this box empty and carry on"
    elif len(text) > 20_000:
        problem = "Reflections can be up to 20,000 characters"
    if problem:
        states = progress.lesson_states(
            db, user_id=viewer.user.id, course_id=course.id, module_ids=[module.id]
        )
        saved = progress.reflection(
            db,
            user_id=viewer.user.id,
            course_id=course.id,
            module_id=module.id,
            lesson_id=lesson.id,
        )
        return _render_lesson(
            request,
            course,
            track,
            module,
            lesson,
            states,
            saved,
            errors={"text": problem},
            draft=text,
        )
    progress.save_reflection(
        db,
        user_id=viewer.user.id,
        course_id=course.id,
        module_id=module.id,
        lesson_id=lesson.id,
        text=text,
    )
    return RedirectResponse(url + "?saved=saved#reflection", status_code=303)


@router.get("/learning/reflections")
def reflections_page(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """Every reflection the learner has written: private to them, deletable."""
    assert viewer.user.id is not None
    catalog = catalog_of(request)
    items = []
    for item in progress.my_reflections(db, user_id=viewer.user.id):
        course = catalog.course(item.course_id)
        module = course.modules.get(item.module_id) if course else None
        lesson = (
            next((le for le in module.lessons() if le.id == item.lesson_id), None)
            if module
            else None
        )
        items.append((item, module, lesson))
    return render(
        request,
        "learn/reflections.html",
        items=items,
        notice="Reflection deleted." if request.query_params.get("notice") == "deleted" else None,
    )


def _own_reflection(db: Session, viewer_id: int | None, reflection_id: int) -> Reflection:
    item = db.get(Reflection, reflection_id)
    if item is None or item.user_id != viewer_id:
        raise NotFound("There is no such reflection.")
    return item


@router.get("/learning/reflections/{reflection_id}/delete")
def confirm_delete_reflection(
    request: Request, db: SessionDep, viewer: SignedInDep, reflection_id: PathId
) -> Response:
    """Ask before deleting one of the learner's reflections."""
    item = _own_reflection(db, viewer.user.id, reflection_id)
    course = catalog_of(request).course(item.course_id)
    module = course.modules.get(item.module_id) if course else None
    lesson = (
        next((le for le in module.lessons() if le.id == item.lesson_id), None) if module else None
    )
    return render(request, "learn/reflection_delete.html", item=item, module=module, lesson=lesson)


@router.post("/learning/reflections/{reflection_id}/delete")
def delete_reflection(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    reflection_id: PathId,
    confirm: FormText = "",
) -> Response:
    """Delete one of the learner's reflections once they have confirmed."""
    item = _own_reflection(db, viewer.user.id, reflection_id)
    if confirm != "yes":
        return RedirectResponse(f"/learning/reflections/{reflection_id}/delete", status_code=303)
    db.delete(item)
    db.commit()
    return RedirectResponse("/learning/reflections?notice=deleted", status_code=303)


@router.get(MODULE + "/quiz")
def quiz_intro(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    here: ModuleDep,
) -> Response:
    """About the quiz: no time limit, the pass mark, and earlier attempts."""
    course, track, module = here
    if module.model.quiz is None:
        raise NotFound("This module has no quiz.")
    assert viewer.user.id is not None
    past = quiz.attempts(db, user_id=viewer.user.id, course_id=course.id, module_id=module.id)
    return render(
        request,
        "learn/quiz_intro.html",
        course=course,
        track=track,
        module=module,
        attempts=past,
        base=_base(track, module),
    )


@router.post(MODULE + "/quiz")
def quiz_start(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    here: ModuleDep,
) -> Response:
    """Start (or resume) an attempt, then show its questions."""
    course, track, module = here
    assert viewer.user.id is not None
    attempt = quiz.start_attempt(db, user_id=viewer.user.id, course=course, module=module)
    return RedirectResponse(f"{_base(track, module)}/quiz/{attempt.id}", status_code=303)


@router.get(MODULE + "/quiz/{attempt_id}")
def quiz_attempt(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    here: ModuleDep,
    attempt_id: PathId,
) -> Response:
    """The attempt's questions, or its results once submitted."""
    course, track, module = here
    assert viewer.user.id is not None
    attempt = quiz.owned_attempt(db, user_id=viewer.user.id, attempt_id=attempt_id, module=module)
    return _quiz_page(request, db, course, track, module, attempt, {}, {})


def _quiz_page(
    request: Request,
    db: Session,
    course: CourseView,
    track: TrackView,
    module: ModuleView,
    attempt: QuizAttempt,
    chosen: dict[str, list[str]],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    if attempt.submitted_at is None:
        return render(
            request,
            "learn/quiz.html",
            status_code=status_code,
            course=course,
            track=track,
            module=module,
            attempt=attempt,
            shown=quiz.shown_questions(module, attempt),
            chosen=chosen,
            errors=errors,
            base=_base(track, module),
        )
    assert attempt.user_id is not None
    status = progress.track_status(db, user_id=attempt.user_id, track=track)
    module_done = next(m for m in status.modules if m.module.id == module.id)
    states = progress.lesson_states(
        db, user_id=attempt.user_id, course_id=course.id, module_ids=[module.id]
    )
    unread = [
        lesson
        for lesson in module.lessons(track.id)
        if states.get((module.id, lesson.id)) != "viewed"
    ]
    certificate = _valid_certificates(db, attempt.user_id).get((course.id, track.id))
    return render(
        request,
        "learn/quiz_result.html",
        unread=unread,
        certificate=certificate,
        course=course,
        track=track,
        module=module,
        attempt=attempt,
        review=quiz.review_of(attempt),
        module_status=module_done,
        track_status=status,
        base=_base(track, module),
        after=_after_module(track, module),
    )


@router.post(MODULE + "/quiz/{attempt_id}")
async def quiz_submit(request: Request, here: ModuleDep, attempt_id: PathId) -> Response:
    """Score the answers once; a repeated submission shows the same result."""
    form = await request.form()
    answers: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if key.startswith("q-") and isinstance(value, str):
            answers.setdefault(key[2:], []).append(value)
    return await run_in_threadpool(_submit, request, here, attempt_id, answers)


def _submit(
    request: Request,
    here: Here,
    attempt_id: int,
    answers: dict[str, list[str]],
) -> Response:
    with Session(request.app.state.engine, expire_on_commit=False) as db:
        viewer = require_viewer(request, get_viewer(request, db))
        course, track, module = here
        assert viewer.user.id is not None
        try:
            attempt = quiz.submit(
                db,
                settings=settings_of(request),
                user_id=viewer.user.id,
                course=course,
                module=module,
                attempt_id=attempt_id,
                answers=answers,
            )
        except FormError as exc:
            attempt = quiz.owned_attempt(
                db, user_id=viewer.user.id, attempt_id=attempt_id, module=module
            )
            return _quiz_page(
                request, db, course, track, module, attempt, answers, exc.fields, status_code=400
            )
        return RedirectResponse(
            f"{_base(track, module)}/quiz/{attempt.id}#results", status_code=303
        )
