"""Quizzes: attempts with a fixed draw and order, scored on the server from the YAML."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from elearn.config import Settings
from elearn.content.catalog import CourseView, ModuleView
from elearn.content.schema import Question
from elearn.errors import FormError, NotFound, UserFacingError
from elearn.models import QuizAttempt, utcnow
from elearn.services import completion


class QuizRefused(UserFacingError):
    """A quiz submission that cannot be accepted as it stands."""

    status_code = 400
    title = "We could not accept these answers"


@dataclass(frozen=True)
class Choice:
    """An answer as offered: its value in the form, its text, and its key in the YAML.

    The form value is the choice's place on the page, so the page says nothing about
    where the option sits in the course file (authors often put the right answer first).
    """

    value: str
    text: str
    key: str


@dataclass(frozen=True)
class ShownQuestion:
    """A question as this attempt shows it, with its choices in this attempt's order."""

    number: int
    question: Question
    choices: tuple[Choice, ...]


def _choices(question: Question, rng: random.Random, shuffle: bool) -> tuple[Choice, ...]:
    if question.kind == "true_false":
        return (Choice("true", "True", "true"), Choice("false", "False", "false"))
    assert question.options is not None
    order = list(range(len(question.options)))
    if shuffle:
        rng.shuffle(order)
    return tuple(
        Choice(str(place), question.options[i].text, str(i)) for place, i in enumerate(order)
    )


def shown_questions(module: ModuleView, attempt: QuizAttempt) -> list[ShownQuestion]:
    """The attempt's questions and choices, in the same order on every reload."""
    quiz = module.model.quiz
    assert quiz is not None
    by_id = {q.id: q for q in quiz.questions}
    shown = []
    for number, qid in enumerate(json.loads(attempt.questions), start=1):
        question = by_id.get(qid)
        if question is None:
            raise QuizRefused(
                "This quiz has changed since you started it. Please start it "
                "again: nothing you answered was recorded."
            )
        rng = random.Random(f"{attempt.seed}:{qid}")  # noqa: S311 - order, not security
        shown.append(ShownQuestion(number, question, _choices(question, rng, quiz.shuffle)))
    return shown


def attempts(db: Session, *, user_id: int, course_id: str, module_id: str) -> list[QuizAttempt]:
    """The learner's attempts at a module's quiz, newest first."""
    return list(
        db.exec(
            select(QuizAttempt)
            .where(
                QuizAttempt.user_id == user_id,
                QuizAttempt.course_id == course_id,
                QuizAttempt.module_id == module_id,
            )
            .order_by(col(QuizAttempt.id).desc())
        ).all()
    )


def start_attempt(
    db: Session, *, user_id: int, course: CourseView, module: ModuleView
) -> QuizAttempt:
    """The learner's open attempt at this version, or a new one with a fresh draw."""
    quiz = module.model.quiz
    if quiz is None:
        raise NotFound("This module has no quiz.")
    mine = (
        QuizAttempt.user_id == user_id,
        QuizAttempt.course_id == course.id,
        QuizAttempt.module_id == module.id,
    )
    this_content = (*mine, QuizAttempt.content_hash == module.sha256)
    open_attempt = _open_attempt(db, this_content)
    if open_attempt is not None:
        return open_attempt
    if quiz.max_attempts is not None:
        used = db.exec(
            select(func.count())
            .select_from(QuizAttempt)
            .where(*mine, col(QuizAttempt.submitted_at).is_not(None))
        ).one()
        if used >= quiz.max_attempts:
            raise QuizRefused(
                f"This quiz allows {quiz.max_attempts} attempts, and you have "
                "used them all. Your manager or course author can help."
            )
    seed = secrets.randbelow(2**31)
    rng = random.Random(seed)  # noqa: S311 - order, not security
    ids = [q.id for q in quiz.questions]
    if quiz.draw is not None and quiz.draw < len(ids):
        ids = rng.sample(ids, quiz.draw)
    elif quiz.shuffle:
        rng.shuffle(ids)
    attempt = QuizAttempt(
        user_id=user_id,
        course_id=course.id,
        module_id=module.id,
        module_version=module.model.version,
        content_hash=module.sha256,
        seed=seed,
        questions=json.dumps(ids),
    )
    db.add(attempt)
    try:
        db.commit()
    except IntegrityError:  # a parallel request opened one first: use that one
        db.rollback()
        found = _open_attempt(db, this_content)
        assert found is not None
        return found
    db.refresh(attempt)
    return attempt


def _open_attempt(db: Session, mine: tuple[Any, ...]) -> QuizAttempt | None:
    """The learner's unsubmitted attempt at this content (the database allows one at most)."""
    return db.exec(
        select(QuizAttempt).where(*mine, col(QuizAttempt.submitted_at).is_(None))
    ).first()


def owned_attempt(db: Session, *, user_id: int, attempt_id: int, module: ModuleView) -> QuizAttempt:
    """An attempt of this learner at this module; NotFound for anyone else's."""
    attempt = db.get(QuizAttempt, attempt_id)
    if (
        attempt is None
        or attempt.user_id != user_id
        or attempt.module_id != module.id
        or attempt.course_id != module.course_id
    ):
        raise NotFound("There is no such quiz attempt.")
    return attempt


def is_correct(question: Question, chosen: list[str]) -> bool:
    """Whether the chosen keys are exactly the right answer. The one place answers are judged."""
    return sorted(chosen) == right_keys(question)


def feedback_for(question: Question, chosen: list[str]) -> list[str]:
    """The feedback for each answer the learner chose (by key)."""
    if question.kind == "true_false":
        return [
            str(question.feedback_true if v == "true" else question.feedback_false) for v in chosen
        ]
    assert question.options is not None
    return [question.options[int(v)].feedback for v in chosen]


@dataclass(frozen=True)
class Reviewed:
    """One question of a submitted attempt, as it was asked and judged at the time."""

    number: int
    prompt: str
    answered: list[str]
    correct: bool
    feedback: list[str]
    explanation: str | None


def _review(shown: list[ShownQuestion], answers: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The results as they were judged, kept with the attempt so later edits cannot change them."""
    items = []
    for s in shown:
        chosen = answers[s.question.id]
        items.append(
            {
                "number": s.number,
                "prompt": s.question.prompt,
                "answered": [c.text for c in s.choices if c.key in chosen],
                "correct": is_correct(s.question, chosen),
                "feedback": feedback_for(s.question, chosen),
                "explanation": s.question.explanation,
            }
        )
    return items


def review_of(attempt: QuizAttempt) -> list[Reviewed]:
    """The submitted attempt's questions, answers and feedback, as recorded at submission."""
    return [Reviewed(**item) for item in json.loads(attempt.review or "[]")]


def _checked_answers(
    shown: list[ShownQuestion], answers: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The posted form values as option keys, or a refusal that records nothing."""
    asked = {s.question.id: s for s in shown}
    unknown = set(answers) - set(asked)
    if unknown:
        raise QuizRefused(
            "These answers are for questions that are not in this quiz. Nothing was recorded."
        )
    missing: dict[str, str] = {}
    keys: dict[str, list[str]] = {}
    for qid, item in asked.items():
        values = answers.get(qid, [])
        key_of = {c.value: c.key for c in item.choices}
        if any(v not in key_of for v in values):
            raise QuizRefused("An answer was not one of the choices offered. Nothing was recorded.")
        if not values:
            missing[qid] = f"Choose an answer for question {item.number}"
        elif item.question.kind != "multiple" and len(values) > 1:
            missing[qid] = f"Choose one answer for question {item.number}"
        keys[qid] = [key_of[v] for v in values]
    if missing:
        raise FormError(missing)
    return keys


def form_values(shown: ShownQuestion, keys: list[str]) -> list[str]:
    """The form values that choose these option keys in this attempt (demo data and tests)."""
    value_of = {c.key: c.value for c in shown.choices}
    return [value_of[k] for k in keys]


def right_keys(question: Question) -> list[str]:
    """The keys of the right answer: the option positions in the YAML, or the truth value."""
    if question.kind == "true_false":
        return ["true" if question.answer else "false"]
    assert question.options is not None
    return [str(i) for i, option in enumerate(question.options) if option.correct]


def submit(
    db: Session,
    *,
    settings: Settings,
    user_id: int,
    course: CourseView,
    module: ModuleView,
    attempt_id: int,
    answers: dict[str, list[str]],
) -> QuizAttempt:
    """Score and record an attempt once; a repeated submission changes nothing.

    The attempt, its score and any completion it earns are written in one transaction.
    """
    attempt = owned_attempt(db, user_id=user_id, attempt_id=attempt_id, module=module)
    if attempt.submitted_at is not None:
        return attempt
    if attempt.content_hash != module.sha256:
        raise QuizRefused(
            "This quiz has changed since you started it. Please start it again: "
            "nothing you answered was recorded."
        )
    shown = shown_questions(module, attempt)
    checked = _checked_answers(shown, answers)
    quiz = module.model.quiz
    assert quiz is not None
    right = sum(is_correct(s.question, checked[s.question.id]) for s in shown)
    score = round(100 * right / len(shown))
    passed = score >= quiz.pass_mark
    try:
        result = db.execute(
            update(QuizAttempt)
            .where(col(QuizAttempt.id) == attempt.id, col(QuizAttempt.submitted_at).is_(None))
            .values(
                submitted_at=utcnow(),
                answers=json.dumps(checked),
                review=json.dumps(_review(shown, checked)),
                score=score,
                passed=passed,
            )
        )
        if result.rowcount == 1 and passed:  # type: ignore[attr-defined]
            db.refresh(attempt)
            completion.maybe_complete_module(
                db,
                settings=settings,
                user_id=user_id,
                course=course,
                module=module,
                attempt=attempt,
            )
        db.commit()
    except Exception:
        db.rollback()
        raise
    db.refresh(attempt)
    return attempt
