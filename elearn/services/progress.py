"""Enrolment, lesson progress, reflections, and what a learner should do next."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

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
            .order_by(col(Enrolment.last_visited_at).desc())
        ).all()
    )


def lesson_states(
    db: Session, *, user_id: int, course_id: str, module_ids: Iterable[str]
) -> dict[tuple[str, str], str]:
    """(module id, lesson id) -> "viewed" or "skipped", for the given modules, in one query."""
    rows = db.exec(
        select(LessonProgress).where(
            LessonProgress.user_id == user_id,
            LessonProgress.course_id == course_id,
            col(LessonProgress.module_id).in_(list(module_ids)),
        )
    ).all()
    return {(r.module_id, r.lesson_id): r.state for r in rows}


def record_lesson(
    db: Session,
    *,
    user_id: int,
    course: CourseView,
    module: ModuleView,
    lesson_id: str,
    state: str = "viewed",
    path: str | None = None,
) -> bool:
    """Record that a lesson was opened (or skipped for now); True if the module completed."""
    if state not in ("viewed", "skipped"):
        raise ValueError(state)
    row = db.exec(
        select(LessonProgress).where(
            LessonProgress.user_id == user_id,
            LessonProgress.course_id == course.id,
            LessonProgress.module_id == module.id,
            LessonProgress.lesson_id == lesson_id,
        )
    ).first()
    changed = False
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
        changed = True
    elif row.state == "skipped" and state == "viewed":
        row.state, row.at = "viewed", utcnow()
        db.add(row)
        changed = True
    if path is not None:
        _remember_place(db, user_id=user_id, course_id=course.id, module_id=module.id, path=path)
    completed = False
    if changed:
        db.flush()
        completed = completion.maybe_complete_module(
            db, user_id=user_id, course=course, module=module
        )
    db.commit()
    return completed


def _remember_place(
    db: Session, *, user_id: int, course_id: str, module_id: str, path: str
) -> None:
    for enrolment in db.exec(
        select(Enrolment).where(Enrolment.user_id == user_id, Enrolment.course_id == course_id)
    ).all():
        if enrolment.last_path != path and path.startswith(
            f"/courses/{course_id}/{enrolment.track_id}/"
        ):
            enrolment.last_path, enrolment.last_visited_at = path, utcnow()
            db.add(enrolment)


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


def track_status(db: Session, *, user_id: int, track: TrackView) -> TrackStatus:
    """Progress through every module of a track, in two queries."""
    ids = [m.id for m in track.modules]
    states = lesson_states(db, user_id=user_id, course_id=track.course_id, module_ids=ids)
    done = completion.completions(db, user_id=user_id, course_id=track.course_id, module_ids=ids)
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
    )
