"""Enrolment, lesson progress, reflections, and what a learner should do next."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from elearn.config import Settings
from elearn.content.catalog import CourseView, ModuleView, TrackView
from elearn.errors import NotFound
from elearn.models import Enrolment, LessonProgress, ModuleCompletion, Reflection, utcnow
from elearn.services import completion


def enrol(db: Session, *, user_id: int, course: CourseView, track_id: str) -> Enrolment:
    """Put the learner on a track (again is harmless)."""
    if course.track(track_id) is None:
        raise NotFound("There is no such track.")
    found = _enrolment(db, user_id, course.id, track_id)
    if found:
        return found
    enrolment = Enrolment(user_id=user_id, course_id=course.id, track_id=track_id)
    db.add(enrolment)
    try:
        db.commit()
    except IntegrityError:  # enrolled by a parallel request
        db.rollback()
        found = _enrolment(db, user_id, course.id, track_id)
        assert found is not None
        return found
    db.refresh(enrolment)
    return enrolment


def _enrolment(db: Session, user_id: int, course_id: str, track_id: str) -> Enrolment | None:
    return db.exec(
        select(Enrolment).where(
            Enrolment.user_id == user_id,
            Enrolment.course_id == course_id,
            Enrolment.track_id == track_id,
        )
    ).first()


def enrolments(db: Session, *, user_id: int) -> list[Enrolment]:
    """The learner's tracks, most recently visited first."""
    return list(
        db.exec(
            select(Enrolment)
            .where(Enrolment.user_id == user_id)
            .order_by(col(Enrolment.started_at).desc(), col(Enrolment.id).desc())
        ).all()
    )


def lesson_states(
    db: Session, *, user_id: int, course_id: str, module_ids: Iterable[str]
) -> dict[tuple[str, str], str]:
    """(module id, lesson id) -> "viewed" or "skipped", for the given modules, in one query."""
    rows = db.exec(
        select(LessonProgress.module_id, LessonProgress.lesson_id, LessonProgress.state).where(
            LessonProgress.user_id == user_id,
            LessonProgress.course_id == course_id,
            col(LessonProgress.module_id).in_(list(module_ids)),
        )
    ).all()
    return {(module_id, lesson_id): state for module_id, lesson_id, state in rows}


UNREAD = "unread"  # record_lesson's default: the caller has not read the lesson's state


def record_lesson(
    db: Session,
    *,
    settings: Settings,
    user_id: int,
    course: CourseView,
    module: ModuleView,
    lesson_id: str,
    state: str = "viewed",
    known: str | None = UNREAD,
) -> bool:
    """Record that a lesson was opened (or skipped for now); True if the module completed.

    `known` is the state the caller already read for this lesson (None: no row yet), so a
    lesson already opened costs no further query and a new one no second read.
    """
    if state not in ("viewed", "skipped"):
        raise ValueError(state)
    if known == "viewed" or (known == "skipped" and state == "skipped"):
        return False
    row = (
        None
        if known is None
        else db.exec(
            select(LessonProgress).where(
                LessonProgress.user_id == user_id,
                LessonProgress.course_id == course.id,
                LessonProgress.module_id == module.id,
                LessonProgress.lesson_id == lesson_id,
            )
        ).first()
    )
    if row is None:
        db.add(
            LessonProgress(
                user_id=user_id,
                course_id=course.id,
                module_id=module.id,
                lesson_id=lesson_id,
                state=state,
            )
        )
    elif row.state == "skipped" and state == "viewed":
        row.state, row.at = "viewed", utcnow()
        db.add(row)
    else:
        return False
    try:
        db.flush()
    except IntegrityError:  # the same lesson recorded by a parallel request
        db.rollback()
        return False
    completed = completion.maybe_complete_module(
        db, settings=settings, user_id=user_id, course=course, module=module
    )
    db.commit()
    return completed


def latest_lesson(
    db: Session, *, user_id: int, course_id: str, module_ids: Iterable[str]
) -> tuple[str, str] | None:
    """The (module id, lesson id) most recently opened or skipped among the modules."""
    row = db.exec(
        select(LessonProgress.module_id, LessonProgress.lesson_id)
        .where(
            LessonProgress.user_id == user_id,
            LessonProgress.course_id == course_id,
            col(LessonProgress.module_id).in_(list(module_ids)),
        )
        .order_by(col(LessonProgress.at).desc(), col(LessonProgress.id).desc())
    ).first()
    return (row[0], row[1]) if row else None


def reflection(
    db: Session, *, user_id: int, course_id: str, module_id: str, lesson_id: str
) -> Reflection | None:
    """The learner's own reflection for a prompt, if any. Nobody else's is ever returned."""
    return db.exec(
        select(Reflection).where(
            Reflection.user_id == user_id,
            Reflection.course_id == course_id,
            Reflection.module_id == module_id,
            Reflection.lesson_id == lesson_id,
        )
    ).first()


def save_reflection(
    db: Session, *, user_id: int, course_id: str, module_id: str, lesson_id: str, text: str
) -> Reflection:
    """Save (or replace) the learner's private reflection."""
    found = reflection(
        db, user_id=user_id, course_id=course_id, module_id=module_id, lesson_id=lesson_id
    )
    if found is None:
        found = Reflection(
            user_id=user_id,
            course_id=course_id,
            module_id=module_id,
            lesson_id=lesson_id,
            text=text,
        )
    found.text, found.updated_at = text, utcnow()
    db.add(found)
    db.commit()
    db.refresh(found)
    return found


def delete_reflection(
    db: Session, *, user_id: int, course_id: str, module_id: str, lesson_id: str
) -> None:
    """Delete the learner's reflection for a prompt."""
    found = reflection(
        db, user_id=user_id, course_id=course_id, module_id=module_id, lesson_id=lesson_id
    )
    if found is not None:
        db.delete(found)
        db.commit()


def my_reflections(db: Session, *, user_id: int) -> list[Reflection]:
    """Every reflection the learner has written, newest first."""
    return list(
        db.exec(
            select(Reflection)
            .where(Reflection.user_id == user_id)
            .order_by(col(Reflection.updated_at).desc())
        ).all()
    )


@dataclass(frozen=True)
class ModuleStatus:
    """Where a learner stands in one module."""

    module: ModuleView
    lessons_done: int
    lessons_total: int
    completion: ModuleCompletion | None

    @property
    def complete(self) -> bool:
        """The module has been completed (on any version)."""
        return self.completion is not None

    @property
    def updated_since(self) -> bool:
        """Completed on an earlier version than the one now served."""
        return (
            self.completion is not None
            and self.completion.module_version < self.module.model.version
        )

    @property
    def label(self) -> str:
        """Completed, In progress or Not started."""
        if self.complete:
            return "Completed"
        return "In progress" if self.lessons_done else "Not started"


@dataclass(frozen=True)
class TrackStatus:
    """Where a learner stands in a track: each module, and the next step."""

    track: TrackView
    modules: tuple[ModuleStatus, ...]
    opened: frozenset[tuple[str, str]] = frozenset()
    latest: tuple[str, str] | None = None

    @property
    def done(self) -> int:
        """Modules completed."""
        return sum(m.complete for m in self.modules)

    @property
    def percent(self) -> int:
        """Share of modules completed."""
        return round(100 * self.done / len(self.modules)) if self.modules else 0

    @property
    def next_module(self) -> ModuleStatus | None:
        """The first module not yet completed."""
        return next((m for m in self.modules if not m.complete), None)

    @property
    def resume_url(self) -> str | None:
        """Where to continue: after the lesson last opened, in that module, else the next."""
        if self.latest is None:
            return None
        module_id = self.latest[0]
        status = next((m for m in self.modules if m.module.id == module_id), None)
        if status is None:
            return None
        base = f"/courses/{self.track.course_id}/{self.track.id}/{module_id}"
        pending = [
            le.id for le in status.module.model.lessons if (module_id, le.id) not in self.opened
        ]
        if pending:
            return f"{base}/lessons/{pending[0]}"
        if not status.complete and status.module.model.quiz is not None:
            return f"{base}/quiz"
        following = self.next_module
        if following is None:
            return None
        return f"/courses/{self.track.course_id}/{self.track.id}/{following.module.id}"


def track_status(db: Session, *, user_id: int, track: TrackView) -> TrackStatus:
    """Progress through every module of a track, in three queries whatever its size."""
    ids = [m.id for m in track.modules]
    states = lesson_states(db, user_id=user_id, course_id=track.course_id, module_ids=ids)
    done = completion.completions(db, user_id=user_id, course_id=track.course_id, module_ids=ids)
    latest = latest_lesson(db, user_id=user_id, course_id=track.course_id, module_ids=ids)
    return TrackStatus(
        track,
        tuple(
            ModuleStatus(
                m,
                sum((m.id, le.id) in states for le in m.model.lessons),
                len(m.model.lessons),
                done.get(m.id),
            )
            for m in track.modules
        ),
        opened=frozenset(states),
        latest=latest,
    )
