"""Completions: a module when its quiz is passed and its lessons were seen; a track when all
its modules are. Recorded once, never edited, pinned to the module version."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from elearn.config import Settings
from elearn.content.catalog import CourseView, ModuleView
from elearn.models import (
    Enrolment,
    LessonProgress,
    ModuleCompletion,
    QuizAttempt,
    TrackCompletion,
)
from elearn.services import certificates


def completions(
    db: Session, *, user_id: int, course_id: str, module_ids: Iterable[str]
) -> dict[str, ModuleCompletion]:
    """The latest completion of each module the learner has completed, in one query."""
    rows = db.exec(
        select(ModuleCompletion)
        .where(
            ModuleCompletion.user_id == user_id,
            ModuleCompletion.course_id == course_id,
            col(ModuleCompletion.module_id).in_(list(module_ids)),
        )
        .order_by(col(ModuleCompletion.module_version))
    ).all()
    return {row.module_id: row for row in rows}


def _insert_once(db: Session, row: ModuleCompletion | TrackCompletion) -> bool:
    """Insert a completion unless an identical one exists; True when it was new."""
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        return False
    return True


def maybe_complete_module(
    db: Session,
    *,
    settings: Settings,
    user_id: int,
    course: CourseView,
    module: ModuleView,
    attempt: QuizAttempt | None = None,
) -> bool:
    """Record the module's completion if it is now due; True if a completion was recorded.
    A track it completes is recorded too, with its certificate.

    Runs inside the caller's transaction; the caller commits.
    """
    version = module.model.version
    if db.exec(
        select(ModuleCompletion.id).where(
            ModuleCompletion.user_id == user_id,
            ModuleCompletion.course_id == course.id,
            ModuleCompletion.module_id == module.id,
            ModuleCompletion.module_version == version,
        )
    ).first():
        return False
    seen = set(
        db.exec(
            select(LessonProgress.lesson_id).where(
                LessonProgress.user_id == user_id,
                LessonProgress.course_id == course.id,
                LessonProgress.module_id == module.id,
            )
        ).all()
    )
    if any(lesson.id not in seen for lesson in module.model.lessons):
        return False
    if module.model.quiz is not None:
        if attempt is None or not attempt.passed:
            attempt = db.exec(
                select(QuizAttempt).where(
                    QuizAttempt.user_id == user_id,
                    QuizAttempt.course_id == course.id,
                    QuizAttempt.module_id == module.id,
                    QuizAttempt.module_version == version,
                    col(QuizAttempt.passed).is_(True),
                )
            ).first()
        if attempt is None:
            return False
    new = _insert_once(
        db,
        ModuleCompletion(
            user_id=user_id,
            course_id=course.id,
            module_id=module.id,
            module_version=version,
            content_hash=module.sha256,
            attempt_id=attempt.id if attempt else None,
        ),
    )
    if new:
        _maybe_complete_tracks(
            db, settings=settings, user_id=user_id, course=course, module_id=module.id
        )
    return new


def _maybe_complete_tracks(
    db: Session, *, settings: Settings, user_id: int, course: CourseView, module_id: str
) -> None:
    enrolled = set(
        db.exec(
            select(Enrolment.track_id).where(
                Enrolment.user_id == user_id, Enrolment.course_id == course.id
            )
        ).all()
    )
    for track in course.tracks:
        if track.id not in enrolled or module_id not in {m.id for m in track.modules}:
            continue
        done = completions(
            db, user_id=user_id, course_id=course.id, module_ids=[m.id for m in track.modules]
        )
        if len(done) == len(track.modules):
            finished = TrackCompletion(user_id=user_id, course_id=course.id, track_id=track.id)
            if _insert_once(db, finished):
                certificates.issue_for_track(
                    db,
                    settings=settings,
                    user_id=user_id,
                    course=course,
                    track=track,
                    completion=finished,
                )


def track_completions(db: Session, *, user_id: int) -> dict[tuple[str, str], TrackCompletion]:
    """(course id, track id) -> completion, for every track the learner has completed."""
    rows = db.exec(select(TrackCompletion).where(TrackCompletion.user_id == user_id)).all()
    return {(r.course_id, r.track_id): r for r in rows}
