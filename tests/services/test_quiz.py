"""Quizzes on the server: draws, shuffles, scoring, recording once, and completions.

The core recording tests run on both databases (the `any_db` fixture is parametrised by
`database_url`: SQLite always, PostgreSQL when reachable)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from elearn.content.catalog import CourseView, ModuleView, load_catalog
from elearn.errors import FormError, NotFound
from elearn.models import (
    LessonProgress,
    ModuleCompletion,
    Organisation,
    QuizAttempt,
    TrackCompletion,
)
from elearn.services import completion, progress, quiz
from tests.conftest import PASSWORD, new_account, post, quiz_form, sign_up

CORRECT = {"q1": ["0"], "q2": ["0", "1"], "q3": ["false"]}
WRONG = {"q1": ["1"], "q2": ["0"], "q3": ["true"]}  # q2: only half of the right answer
SAMPLE = Path("sample") / "modules" / "shared-basics.yaml"


@dataclass
class Env:
    """A learner, the sample course, and a database session on the app's engine."""

    engine: Any
    db: Session
    course: CourseView
    user_id: int
    org_id: int
    settings: Any

    @property
    def module(self) -> ModuleView:
        return self.course.modules["shared-basics"]

    @property
    def alpha_only(self) -> ModuleView:
        return self.course.modules["alpha-only"]

    def new_learner(self) -> int:
        user = new_account(
            self.db,
            name="Another Learner",
            email=f"other-{uuid.uuid4().hex[:10]}@example.org",
            password=PASSWORD,
            organisation_id=self.org_id,
        )
        assert user.id is not None
        return user.id

    def start(self, user_id: int | None = None) -> QuizAttempt:
        return quiz.start_attempt(
            self.db, user_id=user_id or self.user_id, course=self.course, module=self.module
        )

    def submit(
        self, attempt: QuizAttempt, table: dict[str, list[str]], user_id: int | None = None
    ) -> QuizAttempt:
        return quiz.submit(
            self.db,
            settings=self.settings,
            user_id=user_id or self.user_id,
            course=self.course,
            module=self.module,
            attempt_id=attempt.id or 0,
            answers=answers_for(self.module, attempt, table),
        )

    def see_lessons(self, module: ModuleView | None = None, state: str = "viewed") -> bool:
        module = module or self.module
        done = False
        for lesson in module.model.lessons:
            done = progress.record_lesson(
                self.db,
                settings=self.settings,
                user_id=self.user_id,
                course=self.course,
                module=module,
                lesson_id=lesson.id,
                state=state,
            )
        return done

    def fresh(self, model: Any, *where: Any) -> list[Any]:
        """Rows as the database has them now (another session: no cached objects)."""
        with Session(self.engine) as other:
            return list(other.exec(select(model).where(*where)).all())

    def completions(self, user_id: int | None = None) -> list[ModuleCompletion]:
        return self.fresh(ModuleCompletion, ModuleCompletion.user_id == (user_id or self.user_id))


def keys_for(attempt: QuizAttempt, table: dict[str, list[str]]) -> dict[str, list[str]]:
    """The table's answers (option keys, as in the YAML) to the questions the attempt asks."""
    return {qid: table[qid] for qid in json.loads(attempt.questions)}


def answers_for(
    module: ModuleView, attempt: QuizAttempt, table: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The form values that give the table's answers in this attempt's order."""
    return {
        shown.question.id: quiz.form_values(shown, table[shown.question.id])
        for shown in quiz.shown_questions(module, attempt)
    }


def _env(client: TestClient) -> Iterator[Env]:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    course = client.app.state.catalog.current.course("sample")  # type: ignore[attr-defined]
    with Session(engine) as db:
        org = db.exec(select(Organisation).order_by(col(Organisation.id))).first()
        assert org is not None and org.id is not None
        user = new_account(
            db,
            name="Sam Learner",
            email=f"sam-{uuid.uuid4().hex[:10]}@example.org",
            password=PASSWORD,
            organisation_id=org.id,
        )
        assert user.id is not None
        progress.enrol(db, user_id=user.id, course=course, track_id="alpha")
        yield Env(engine, db, course, user.id, org.id, client.app.state.settings)  # type: ignore[attr-defined]


@pytest.fixture
def env(client: TestClient, organisations: list[Organisation]) -> Iterator[Env]:
    """On SQLite only."""
    yield from _env(client)


@pytest.fixture
def env_any_db(any_db: TestClient) -> Iterator[Env]:
    """On each database."""
    yield from _env(any_db)


# Draws and shuffles ---------------------------------------------------------------------


def test_a_pool_draws_the_configured_number_fixed_for_the_attempt(env: Env) -> None:
    attempt = env.start()
    drawn = json.loads(attempt.questions)
    assert len(drawn) == 2 and len(set(drawn)) == 2 and set(drawn) <= {"q1", "q2", "q3"}
    again = env.start()  # resuming gives the same attempt, not a new draw
    assert again.id == attempt.id and json.loads(again.questions) == drawn
    shown = quiz.shown_questions(env.module, attempt)
    assert [s.question.id for s in shown] == drawn
    assert [s.number for s in shown] == [1, 2]


def test_choice_order_is_stable_for_an_attempt(env: Env) -> None:
    attempt = env.start()
    first = [(s.question.id, s.choices) for s in quiz.shown_questions(env.module, attempt)]
    with Session(env.engine) as other:  # as a later request would see it
        reloaded = other.get(QuizAttempt, attempt.id)
        assert reloaded is not None
        second = [(s.question.id, s.choices) for s in quiz.shown_questions(env.module, reloaded)]
    assert first == second


def test_new_attempts_draw_and_shuffle_afresh(env: Env) -> None:
    draws, orders = set(), set()
    for _ in range(20):
        attempt = env.start()
        draws.add(frozenset(json.loads(attempt.questions)))
        for shown in quiz.shown_questions(env.module, attempt):
            if shown.question.id == "q2":
                orders.add(tuple(c.key for c in shown.choices))
            if shown.question.kind == "true_false":
                assert [c.value for c in shown.choices] == ["true", "false"]
            else:  # the form values are places on the page, whatever the options' order
                assert [c.value for c in shown.choices] == [
                    str(i) for i in range(len(shown.choices))
                ]
        env.submit(attempt, WRONG)
    assert len(draws) >= 2, "twenty attempts all drew the same questions"
    assert len(orders) >= 2, "the choices of q2 were never shuffled differently"


def test_without_shuffle_or_draw_questions_and_choices_keep_their_order(
    env: Env, settings: Any
) -> None:
    path = settings.courses_dir / SAMPLE
    text = path.read_text("utf-8").replace("  shuffle: true\n  draw: 2\n", "  shuffle: false\n")
    path.write_text(text, "utf-8")
    course = load_catalog(settings.courses_dir).course("sample")
    assert course is not None
    module = course.modules["shared-basics"]
    for _ in range(5):
        attempt = quiz.start_attempt(env.db, user_id=env.user_id, course=course, module=module)
        shown = quiz.shown_questions(module, attempt)
        assert [s.question.id for s in shown] == ["q1", "q2", "q3"]
        assert [(c.value, c.key) for c in shown[1].choices] == [("0", "0"), ("1", "1"), ("2", "2")]
        quiz.submit(
            env.db,
            settings=env.settings,
            user_id=env.user_id,
            course=course,
            module=module,
            attempt_id=attempt.id or 0,
            answers=WRONG,
        )


# Scoring -----------------------------------------------------------------------------


def _question(courses_dir: Path, qid: str) -> Any:
    course = load_catalog(courses_dir).course("sample")
    assert course is not None
    quiz_model = course.modules["shared-basics"].model.quiz
    assert quiz_model is not None
    return next(q for q in quiz_model.questions if q.id == qid)


@pytest.mark.parametrize(
    ("qid", "chosen", "right"),
    [
        ("q1", ["0"], True),
        ("q1", ["1"], False),
        ("q1", ["0", "1"], False),
        ("q2", ["0", "1"], True),
        ("q2", ["1", "0"], True),
        ("q2", ["0"], False),  # partly right is not right
        ("q2", ["1"], False),
        ("q2", ["0", "1", "2"], False),
        ("q2", ["0", "0", "1"], False),
        ("q2", [], False),
        ("q3", ["false"], True),
        ("q3", ["true"], False),
        ("q3", ["true", "false"], False),
    ],
)
def test_is_correct(courses_dir: Path, qid: str, chosen: list[str], right: bool) -> None:
    assert quiz.is_correct(_question(courses_dir, qid), chosen) is right


def test_scores_are_percentages_against_the_pass_mark(env: Env) -> None:
    attempt = env.start()
    first, second = json.loads(attempt.questions)
    mixed = {first: CORRECT[first], second: WRONG[second]}
    result = quiz.submit(
        env.db,
        settings=env.settings,
        user_id=env.user_id,
        course=env.course,
        module=env.module,
        attempt_id=attempt.id or 0,
        answers=answers_for(env.module, attempt, mixed),
    )
    assert (result.score, result.passed) == (50, False)  # pass mark is 60
    result = env.submit(env.start(), CORRECT)
    assert (result.score, result.passed) == (100, True)
    result = env.submit(env.start(), WRONG)
    assert (result.score, result.passed) == (0, False)


def test_an_attempt_records_what_was_asked_and_answered(env: Env) -> None:
    attempt = env.start()
    chosen = keys_for(attempt, CORRECT)
    env.submit(attempt, CORRECT)
    [row] = env.fresh(QuizAttempt, QuizAttempt.id == attempt.id)
    assert row.user_id == env.user_id
    assert (row.course_id, row.module_id) == ("sample", "shared-basics")
    assert row.module_version == 2
    assert row.content_hash == env.module.sha256 and re.fullmatch(r"[0-9a-f]{64}", row.content_hash)
    assert json.loads(row.answers) == chosen
    assert (row.score, row.passed) == (100, True)
    assert row.submitted_at is not None and row.started_at is not None
    assert row.submitted_at >= row.started_at


# Recording once (both databases) ------------------------------------------------------


def test_a_second_submission_changes_nothing(env_any_db: Env) -> None:
    env = env_any_db
    env.see_lessons()
    attempt = env.start()
    first = env.submit(attempt, CORRECT)
    assert first.passed
    [before] = env.fresh(QuizAttempt, QuizAttempt.id == attempt.id)
    second = env.submit(attempt, WRONG)
    [after] = env.fresh(QuizAttempt, QuizAttempt.id == attempt.id)
    assert (second.score, second.passed) == (100, True)
    assert (after.answers, after.score, after.passed, after.submitted_at) == (
        before.answers,
        before.score,
        before.passed,
        before.submitted_at,
    )
    assert len(env.completions()) == 1


def test_simultaneous_submissions_record_one_result(env_any_db: Env) -> None:
    env = env_any_db
    env.see_lessons()
    for _ in range(3):
        attempt = env.start()
        tables = [CORRECT, WRONG]
        results: list[Any] = [None, None]
        barrier = threading.Barrier(2)

        def go(
            i: int,
            attempt: QuizAttempt = attempt,
            results: list[Any] = results,
            barrier: threading.Barrier = barrier,
            tables: list[dict[str, list[str]]] = tables,
        ) -> None:
            with Session(env.engine) as db:
                barrier.wait()
                try:
                    done = quiz.submit(
                        db,
                        settings=env.settings,
                        user_id=env.user_id,
                        course=env.course,
                        module=env.module,
                        attempt_id=attempt.id or 0,
                        answers=answers_for(env.module, attempt, tables[i]),
                    )
                    results[i] = (done.score, done.answers)
                except Exception as exc:  # the test reports it below
                    results[i] = exc

        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(isinstance(r, Exception) for r in results), results
        [row] = env.fresh(QuizAttempt, QuizAttempt.id == attempt.id)
        assert row.answers in (
            json.dumps(keys_for(attempt, CORRECT)),
            json.dumps(keys_for(attempt, WRONG)),
        )
        assert results[0] == results[1] == (row.score, row.answers)
    assert len(env.completions()) <= 1


def test_passing_completes_the_module_once_pinned_to_its_version(env_any_db: Env) -> None:
    env = env_any_db
    env.see_lessons()
    failed = env.submit(env.start(), WRONG)
    assert not failed.passed and env.completions() == []
    passed = env.submit(env.start(), CORRECT)
    again = env.submit(env.start(), CORRECT)
    [done] = env.completions()
    assert (done.module_id, done.module_version) == ("shared-basics", 2)
    assert done.content_hash == env.module.sha256
    assert done.attempt_id == passed.id != again.id


def test_quiz_first_then_the_last_lesson_completes_the_module(env_any_db: Env) -> None:
    env = env_any_db
    env.submit(env.start(), CORRECT)
    assert env.completions() == []  # lessons not seen yet
    assert env.see_lessons(state="skipped") is True  # skipped for now counts
    [done] = env.completions()
    assert done.attempt_id is not None


def test_completing_every_module_completes_the_track(env_any_db: Env) -> None:
    env = env_any_db
    env.see_lessons()
    env.submit(env.start(), CORRECT)
    assert env.fresh(TrackCompletion, TrackCompletion.user_id == env.user_id) == []
    assert env.see_lessons(env.alpha_only) is True  # no quiz: seeing the lessons is enough
    [track] = env.fresh(TrackCompletion, TrackCompletion.user_id == env.user_id)
    assert (track.course_id, track.track_id) == ("sample", "alpha")
    assert {c.module_id for c in env.completions()} == {"shared-basics", "alpha-only"}


def test_a_failure_while_recording_rolls_back_the_whole_attempt(
    env_any_db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_any_db
    env.see_lessons()
    attempt = env.start()

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(completion, "maybe_complete_module", broken)
    with pytest.raises(RuntimeError):
        env.submit(attempt, CORRECT)
    [row] = env.fresh(QuizAttempt, QuizAttempt.id == attempt.id)
    assert (row.submitted_at, row.answers, row.score, row.passed) == (None, None, None, None)
    assert env.completions() == []
    monkeypatch.undo()
    env.db.rollback()
    assert env.submit(attempt, CORRECT).passed  # and it can still be submitted afterwards
    assert len(env.completions()) == 1


def test_over_http_a_double_submission_records_one_result_and_one_completion(
    any_db: TestClient,
) -> None:
    client = any_db
    email = f"http-{uuid.uuid4().hex[:10]}@example.org"
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as db:
        org = db.exec(select(Organisation).order_by(col(Organisation.id))).first()
    assert org is not None
    assert sign_up(client, org, email=email).status_code == 303
    assert post(client, "/courses/sample/alpha/enrol").status_code == 303
    base = "/courses/sample/alpha/shared-basics"
    assert client.get(f"{base}/lessons/first?note=seen").status_code == 200
    assert client.get(f"{base}/lessons/think").status_code == 200
    started = post(client, f"{base}/quiz")
    assert started.status_code == 303
    url = started.headers["location"]
    page = client.get(url).text
    asked = list(dict.fromkeys(re.findall(r'name="q-([a-z0-9-]+)"', page)))
    assert len(asked) == 2
    first = post(client, url, quiz_form(page, CORRECT))
    second = post(client, url, quiz_form(page, WRONG))
    assert first.status_code == second.status_code == 303
    result = client.get(url).text
    assert "You scored 100%" in result and "Module complete" in result
    attempt_id = int(url.rsplit("/", 1)[1])
    with Session(engine) as db:
        row = db.get(QuizAttempt, attempt_id)
        assert row is not None and row.score == 100
        user_id = row.user_id
        assert (
            db.exec(
                select(func.count())
                .select_from(QuizAttempt)
                .where(QuizAttempt.user_id == user_id, col(QuizAttempt.submitted_at).is_not(None))
            ).one()
            == 1
        )
        assert (
            db.exec(
                select(func.count())
                .select_from(ModuleCompletion)
                .where(ModuleCompletion.user_id == user_id)
            ).one()
            == 1
        )


# Refusals ---------------------------------------------------------------------------


def _unsubmitted(env: Env, attempt: QuizAttempt) -> None:
    [row] = env.fresh(QuizAttempt, QuizAttempt.id == attempt.id)
    assert (row.submitted_at, row.answers, row.score) == (None, None, None)
    assert env.completions() == []


def test_answers_to_questions_not_in_the_attempt_are_refused(env: Env) -> None:
    env.see_lessons()
    attempt = env.start()
    left_out = ({"q1", "q2", "q3"} - set(json.loads(attempt.questions))).pop()
    for extra in ({"q9": ["0"]}, {left_out: CORRECT[left_out]}):
        with pytest.raises(quiz.QuizRefused, match="not in this quiz"):
            quiz.submit(
                env.db,
                settings=env.settings,
                user_id=env.user_id,
                course=env.course,
                module=env.module,
                attempt_id=attempt.id or 0,
                answers={**answers_for(env.module, attempt, CORRECT), **extra},
            )
    _unsubmitted(env, attempt)


@pytest.mark.parametrize("bad", ["7", "-1", "1.0", "", "TRUE", "0 "])
def test_an_answer_that_was_not_offered_is_refused(env: Env, bad: str) -> None:
    env.see_lessons()
    attempt = env.start()
    answers = answers_for(env.module, attempt, CORRECT)
    qid = next(iter(answers))
    answers[qid] = [bad]
    with pytest.raises((quiz.QuizRefused, FormError)):
        quiz.submit(
            env.db,
            settings=env.settings,
            user_id=env.user_id,
            course=env.course,
            module=env.module,
            attempt_id=attempt.id or 0,
            answers=answers,
        )
    _unsubmitted(env, attempt)


def test_missing_answers_and_two_answers_to_a_single_question_are_form_errors(
    env: Env,
) -> None:
    attempt = env.start()
    drawn = json.loads(attempt.questions)
    with pytest.raises(FormError) as caught:
        quiz.submit(
            env.db,
            settings=env.settings,
            user_id=env.user_id,
            course=env.course,
            module=env.module,
            attempt_id=attempt.id or 0,
            answers={},
        )
    assert set(caught.value.fields) == set(drawn)
    single = next((q for q in drawn if q != "q2"), None)
    if single is not None:
        with pytest.raises(FormError) as caught:
            quiz.submit(
                env.db,
                settings=env.settings,
                user_id=env.user_id,
                course=env.course,
                module=env.module,
                attempt_id=attempt.id or 0,
                answers={
                    **answers_for(env.module, attempt, CORRECT),
                    single: ["true", "false"] if single == "q3" else ["0", "1"],
                },
            )
        assert set(caught.value.fields) == {single}
    _unsubmitted(env, attempt)


def test_another_learners_attempt_cannot_be_submitted_or_read(env: Env) -> None:
    theirs = env.start(env.new_learner())
    with pytest.raises(NotFound):
        env.submit(theirs, CORRECT)
    with pytest.raises(NotFound):
        quiz.owned_attempt(
            env.db, user_id=env.user_id, attempt_id=theirs.id or 0, module=env.module
        )
    [row] = env.fresh(QuizAttempt, QuizAttempt.id == theirs.id)
    assert row.submitted_at is None
    with pytest.raises(NotFound):
        quiz.owned_attempt(env.db, user_id=env.user_id, attempt_id=10**9, module=env.module)


def test_an_attempt_is_refused_once_the_quiz_has_changed(env: Env, settings: Any) -> None:
    attempt = env.start()
    path = settings.courses_dir / SAMPLE
    path.write_text(
        path.read_text("utf-8").replace("Which can be threat", "Which of these can be threat"),
        "utf-8",
    )
    course = load_catalog(settings.courses_dir).course("sample")
    assert course is not None
    changed = course.modules["shared-basics"]
    assert changed.sha256 != env.module.sha256
    with pytest.raises(quiz.QuizRefused, match="changed"):
        quiz.submit(
            env.db,
            settings=env.settings,
            user_id=env.user_id,
            course=course,
            module=changed,
            attempt_id=attempt.id or 0,
            answers=answers_for(env.module, attempt, CORRECT),
        )
    _unsubmitted(env, attempt)
    fresh = quiz.start_attempt(env.db, user_id=env.user_id, course=course, module=changed)
    assert fresh.id != attempt.id and fresh.content_hash == changed.sha256


def test_max_attempts_is_enforced(env: Env, settings: Any) -> None:
    path = settings.courses_dir / SAMPLE
    path.write_text(
        path.read_text("utf-8").replace(
            "  pass_mark: 60\n", "  pass_mark: 60\n  max_attempts: 2\n"
        ),
        "utf-8",
    )
    course = load_catalog(settings.courses_dir).course("sample")
    assert course is not None
    module = course.modules["shared-basics"]
    for _ in range(2):
        attempt = quiz.start_attempt(env.db, user_id=env.user_id, course=course, module=module)
        quiz.submit(
            env.db,
            settings=env.settings,
            user_id=env.user_id,
            course=course,
            module=module,
            attempt_id=attempt.id or 0,
            answers=answers_for(env.module, attempt, WRONG),
        )
    with pytest.raises(quiz.QuizRefused, match="allows 2 attempts"):
        quiz.start_attempt(env.db, user_id=env.user_id, course=course, module=module)
    assert len(env.fresh(QuizAttempt, QuizAttempt.user_id == env.user_id)) == 2
    # Someone else still has their own two.
    other = env.new_learner()
    assert quiz.start_attempt(env.db, user_id=other, course=course, module=module).id


def test_module_without_a_quiz_cannot_start_one(env: Env) -> None:
    with pytest.raises(NotFound):
        quiz.start_attempt(env.db, user_id=env.user_id, course=env.course, module=env.alpha_only)


def test_lessons_record_once(env: Env) -> None:
    for _ in range(3):
        progress.record_lesson(
            env.db,
            settings=env.settings,
            user_id=env.user_id,
            course=env.course,
            module=env.module,
            lesson_id="first",
        )
    rows = env.fresh(LessonProgress, LessonProgress.user_id == env.user_id)
    assert [(r.lesson_id, r.state) for r in rows] == [("first", "viewed")]


def test_two_starts_at_once_share_one_attempt(
    env_any_db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A double-clicked "Start the quiz" whose requests both miss each other's attempt: the
    database lets only one open attempt exist, and the second request is given that one."""
    first = env_any_db.start()
    real = quiz._open_attempt
    calls = iter([None])  # the second request's first look finds nothing, as in a race
    monkeypatch.setattr(quiz, "_open_attempt", lambda db, mine: next(calls, real(db, mine)))
    second = env_any_db.start()
    assert second.id == first.id
    env_any_db.db.expire_all()
    open_rows = env_any_db.db.exec(
        select(QuizAttempt).where(
            QuizAttempt.user_id == env_any_db.user_id, col(QuizAttempt.submitted_at).is_(None)
        )
    ).all()
    assert len(open_rows) == 1
