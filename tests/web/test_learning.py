"""The learner journey over HTTP: enrolment, content notes, lessons, reflections, progress,
versions, and quizzes."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.models import (
    Enrolment,
    LessonProgress,
    ModuleCompletion,
    QuizAttempt,
    Reflection,
    TrackCompletion,
    User,
    utcnow,
)
from elearn.services import completion
from elearn.services.sessions import _aware
from tests.conftest import post, quiz_form, sign_up
from tests.services.conftest import use_quick_hashing
from tests.web.test_accounts import age, sessions_of

BASE = "/courses/sample/alpha/shared-basics"
ONLY = "/courses/sample/alpha/alpha-only"
CORRECT = {"q1": ["0"], "q2": ["0", "1"], "q3": ["false"]}
WRONG = {"q1": ["1"], "q2": ["0"], "q3": ["true"]}  # q2: half right is wrong
FEEDBACK = (
    "choice restores control",
    "the principles favour choice",
    "filing is not a threat response",
    "it can build up over time",
)


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


# Helpers ----------------------------------------------------------------------------


def rows(client: TestClient, model: Any, *where: Any) -> list[Any]:
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        return list(db.exec(select(model).where(*where)).all())


def me(client: TestClient, email: str = "sam@example.org") -> int:
    [user] = rows(client, User, User.email == email)
    assert user.id is not None
    return int(user.id)


def start_quiz(client: TestClient, base: str = BASE) -> str:
    response = post(client, f"{base}/quiz")
    assert response.status_code == 303, response.text
    url: str = response.headers["location"]
    assert re.fullmatch(rf"{base}/quiz/\d+", url)
    return url


def attempt_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1].split("#")[0])


def asked(page: str) -> list[str]:
    """Question ids in the order the page shows them."""
    return list(dict.fromkeys(re.findall(r'name="q-([a-z0-9-]+)"', page)))


def choices(page: str) -> list[tuple[str, str]]:
    """(question id, label) for every choice, in page order."""
    return re.findall(r'for="q-([a-z0-9-]+)-\d+">([^<]*)</label>', page)


def answer(client: TestClient, url: str, table: dict[str, list[str]]) -> Any:
    return post(client, url, quiz_form(client.get(url).text, table))


def see_lessons(client: TestClient) -> None:
    assert client.get(f"{BASE}/lessons/first?note=seen").status_code == 200
    assert client.get(f"{BASE}/lessons/think").status_code == 200


def complete_shared_basics(client: TestClient) -> str:
    see_lessons(client)
    url = start_quiz(client)
    assert answer(client, url, CORRECT).status_code == 303
    return url


def status_of(page: str, module_id: str) -> str:
    found = re.search(rf'id="module-{module_id}-status">(.*?)</div>', page, re.S)
    assert found is not None, module_id
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def progress_line(page: str) -> tuple[str, str]:
    done = re.search(r"(\d+ of \d+ modules complete)", page)
    value = re.search(r'<progress[^>]*value="(\d+)"', page)
    assert done is not None and value is not None
    return done.group(1), value.group(1)


def continue_link(page: str) -> str | None:
    found = re.search(r'href="([^"]+)">Continue where you left off<', page)
    return html.unescape(found.group(1)) if found else None


def unsubmitted(client: TestClient, url: str) -> None:
    [row] = rows(client, QuizAttempt, QuizAttempt.id == attempt_id(url))
    assert (row.submitted_at, row.answers, row.score, row.passed) == (None, None, None, None)
    assert rows(client, ModuleCompletion) == []


def edit_module(client: TestClient, old: str, new: str) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    path: Path = settings.courses_dir / "sample" / "modules" / "shared-basics.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")
    assert client.app.state.catalog.reload()  # type: ignore[attr-defined]


# Enrolment, content notes and lessons ------------------------------------------------


def test_enrolling_starts_the_track_once(learner: TestClient) -> None:
    [enrolment] = rows(learner, Enrolment)
    assert (enrolment.course_id, enrolment.track_id, enrolment.user_id) == (
        "sample",
        "alpha",
        me(learner),
    )
    page = learner.get("/courses/sample/alpha").text
    assert "0 of 2 modules complete" in page and "Start this track" not in page
    again = post(learner, "/courses/sample/alpha/enrol")
    assert again.status_code == 303 and again.headers["location"] == "/courses/sample/alpha"
    assert len(rows(learner, Enrolment)) == 1
    beta = learner.get("/courses/sample/beta").text
    assert "Start this track" in beta
    assert post(learner, "/courses/sample/nope/enrol").status_code == 404
    assert post(learner, "/courses/sample/gamma/enrol").status_code == 404
    assert len(rows(learner, Enrolment)) == 1


def test_the_content_note_comes_before_the_first_lesson(learner: TestClient) -> None:
    first = learner.get(f"{BASE}/lessons/first", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == f"{BASE}/start"
    note = learner.get(f"{BASE}/start")
    assert note.status_code == 200
    assert "Content note" in note.text and "difficult experiences" in note.text
    assert f'href="{BASE}/lessons/first?note=seen"' in note.text
    assert f'href="{ONLY}"' in note.text  # skipping leads to the next module
    assert 'href="/support"' in note.text
    assert rows(learner, LessonProgress) == []  # reading the note records nothing
    lesson = learner.get(f"{BASE}/lessons/first?note=seen")
    assert lesson.status_code == 200 and "Alpha replaces the text." in lesson.text
    # Once started, lessons open directly.
    again = learner.get(f"{BASE}/lessons/think", follow_redirects=False)
    assert again.status_code == 200 and "What helps you feel safe at work?" in again.text


def test_a_module_without_a_content_note_starts_at_its_first_lesson(learner: TestClient) -> None:
    start = learner.get(f"{ONLY}/start", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"] == f"{ONLY}/lessons/only"
    assert learner.get(f"{ONLY}/lessons/only", follow_redirects=False).status_code == 200


def test_opening_a_lesson_records_progress_once(learner: TestClient) -> None:
    for _ in range(3):
        assert learner.get(f"{BASE}/lessons/first?note=seen").status_code == 200
    [row] = rows(learner, LessonProgress)
    assert (row.module_id, row.lesson_id, row.state, row.user_id) == (
        "shared-basics",
        "first",
        "viewed",
        me(learner),
    )
    assert learner.get(f"{BASE}/lessons/nope?note=seen").status_code == 404
    assert len(rows(learner, LessonProgress)) == 1


def test_skipping_for_now_counts_towards_completion(learner: TestClient) -> None:
    learner.get(f"{BASE}/lessons/first?note=seen")
    skipped = post(learner, f"{BASE}/lessons/think/skip")
    assert skipped.status_code == 303 and skipped.headers["location"] == f"{BASE}/quiz"
    [think] = rows(learner, LessonProgress, LessonProgress.lesson_id == "think")
    assert think.state == "skipped"
    assert "(skipped for now)" in learner.get(f"{BASE}/lessons/first").text
    url = start_quiz(learner)
    assert answer(learner, url, CORRECT).status_code == 303
    assert "Module complete" in learner.get(url).text
    [done] = rows(learner, ModuleCompletion)
    assert done.module_id == "shared-basics"
    # Skipping the only lesson of a module without a quiz completes it and moves on.
    only = post(learner, f"{ONLY}/lessons/only/skip")
    assert only.status_code == 303 and only.headers["location"] == "/learning"
    assert {c.module_id for c in rows(learner, ModuleCompletion)} == {"shared-basics", "alpha-only"}
    assert len(rows(learner, TrackCompletion)) == 1
    # Coming back to a skipped lesson later marks it as read.
    learner.get(f"{BASE}/lessons/think")
    [think] = rows(learner, LessonProgress, LessonProgress.lesson_id == "think")
    assert think.state == "viewed"


# Reflections -------------------------------------------------------------------------


def test_a_reflection_can_be_saved_replaced_and_deleted(learner: TestClient) -> None:
    url = f"{BASE}/lessons/think"
    learner.get(f"{BASE}/lessons/first?note=seen")
    saved = post(learner, f"{url}/reflection", {"text": "Quiet <b>rooms</b> & kind people"})
    assert saved.status_code == 303 and saved.headers["location"] == f"{url}?saved=saved#reflection"
    page = learner.get(f"{url}?saved=saved").text
    assert "Your reflection is saved" in page
    assert "Quiet &lt;b&gt;rooms&lt;/b&gt; &amp; kind people</textarea>" in page
    post(learner, f"{url}/reflection", {"text": "Being listened to"})
    [row] = rows(learner, Reflection)
    assert (row.text, row.user_id, row.module_id, row.lesson_id) == (
        "Being listened to",
        me(learner),
        "shared-basics",
        "think",
    )
    assert "Being listened to" in learner.get("/learning/reflections").text
    deleted = post(learner, f"{url}/reflection", {"action": "delete"})
    assert deleted.status_code == 303 and "saved=deleted" in deleted.headers["location"]
    assert rows(learner, Reflection) == []
    page = learner.get(f"{url}?saved=deleted").text
    assert "Your reflection has been deleted" in page and "Being listened to" not in page
    assert "You have not written any reflections yet" in learner.get("/learning/reflections").text


def test_a_reflection_can_only_be_saved_on_a_reflection_lesson(learner: TestClient) -> None:
    response = post(learner, f"{BASE}/lessons/first/reflection", {"text": "Hello"})
    assert response.status_code == 404
    assert rows(learner, Reflection) == []


def test_an_empty_reflection_is_not_saved(learner: TestClient) -> None:
    response = post(learner, f"{BASE}/lessons/think/reflection", {"text": "   "})
    assert response.status_code == 400
    assert "Write something to save" in response.text
    assert rows(learner, Reflection) == []


def test_a_too_long_reflection_keeps_what_was_typed_beside_the_error(learner: TestClient) -> None:
    """Losing 20,000 characters somebody wrote about themselves is not acceptable: the lesson
    comes back with the message beside the box and the text still in it."""
    learner.get(f"{BASE}/lessons/first?note=seen")
    text = "I noticed " + "a" * 20_000
    response = post(learner, f"{BASE}/lessons/think/reflection", {"text": text})
    assert response.status_code == 400
    assert rows(learner, Reflection) == []
    assert re.search(
        r'id="text-error" class="govuk-error-message">.*?up to 20,000', response.text, re.S
    )
    assert f">{text}</textarea>" in response.text


# Progress ---------------------------------------------------------------------------


def test_my_learning_shows_progress_numbers(learner: TestClient) -> None:
    page = learner.get("/learning").text
    assert progress_line(page) == ("0 of 2 modules complete", "0")
    assert 'href="/courses/sample/alpha/shared-basics">Start: Shared basics' in page
    complete_shared_basics(learner)
    page = learner.get("/learning").text
    assert progress_line(page) == ("1 of 2 modules complete", "50")
    assert "Next module to complete: Alpha only" in page
    learner.get(f"{ONLY}/lessons/only")
    page = learner.get("/learning").text
    assert progress_line(page) == ("2 of 2 modules complete", "100")
    assert 'govuk-tag--green">Completed</strong> on' in page
    assert continue_link(page) is None


def test_continue_where_you_left_off_follows_the_last_lesson_opened(learner: TestClient) -> None:
    """The link picks up after the lesson last opened: the next lesson of that module not yet
    opened, then its quiz, then the next module."""
    assert continue_link(learner.get("/learning").text) is None
    learner.get(f"{BASE}/lessons/first?note=seen")
    assert continue_link(learner.get("/learning").text) == f"{BASE}/lessons/think"
    learner.get(f"{BASE}/lessons/think")
    assert continue_link(learner.get("/learning").text) == f"{BASE}/quiz"
    learner.get(f"{BASE}/lessons/first")  # going back over a lesson changes nothing
    assert continue_link(learner.get("/learning").text) == f"{BASE}/quiz"
    answer(learner, start_quiz(learner), CORRECT)
    assert continue_link(learner.get("/learning").text) == ONLY
    learner.get(f"{ONLY}/lessons/only")
    page = learner.get("/learning").text
    assert continue_link(page) is None and "2 of 2 modules complete" in page


def test_continue_after_opening_a_later_module_first(learner: TestClient) -> None:
    learner.get(f"{ONLY}/lessons/only")
    page = learner.get("/learning").text
    assert continue_link(page) == BASE  # alpha-only is done: on to what is left
    assert "Next module to complete: Shared basics" in page


def test_the_track_page_shows_each_modules_status(learner: TestClient) -> None:
    page = learner.get("/courses/sample/alpha").text
    assert status_of(page, "shared-basics") == "Not started"
    assert status_of(page, "alpha-only") == "Not started"
    learner.get(f"{BASE}/lessons/first?note=seen")
    page = learner.get("/courses/sample/alpha").text
    assert status_of(page, "shared-basics") == "In progress"
    learner.get(f"{BASE}/lessons/think")
    url = start_quiz(learner)
    answer(learner, url, WRONG)
    page = learner.get("/courses/sample/alpha").text
    assert status_of(page, "shared-basics") == "In progress"  # failing is not completing
    answer(learner, start_quiz(learner), CORRECT)
    page = learner.get("/courses/sample/alpha").text
    assert status_of(page, "shared-basics") == "Completed"
    assert "1 of 2 modules complete" in page
    assert status_of(page, "alpha-only") == "Not started"


def test_a_completion_survives_a_new_module_version(learner: TestClient) -> None:
    complete_shared_basics(learner)
    [done] = rows(learner, ModuleCompletion)
    assert done.module_version == 2
    edit_module(learner, "version: 2", "version: 3")
    page = learner.get("/courses/sample/alpha").text
    assert status_of(page, "shared-basics") == "Completed Updated since"
    assert "1 of 2 modules complete" in page
    assert progress_line(learner.get("/learning").text)[0] == "1 of 2 modules complete"
    [still] = rows(learner, ModuleCompletion)
    assert (still.id, still.module_version, still.content_hash) == (
        done.id,
        2,
        done.content_hash,
    )


# Quizzes ----------------------------------------------------------------------------


def test_the_quiz_intro_describes_the_quiz(learner: TestClient) -> None:
    page = learner.get(f"{BASE}/quiz").text
    assert "2 questions. There is no time limit." in page
    assert "You need 60% to complete the module." in page
    assert "as many times as you like" in page
    assert "Start the quiz" in page
    assert learner.get(f"{ONLY}/quiz").status_code == 404


def test_the_question_page_gives_nothing_away(learner: TestClient) -> None:
    url = start_quiz(learner)
    page = learner.get(url).text
    assert len(asked(page)) == 2
    lowered = page.lower()
    assert "correct" not in lowered
    for text in FEEDBACK:
        assert text not in lowered
    assert "Right" not in page and "Not quite" not in page
    # After submitting, the explanations are shown.
    answer(learner, url, CORRECT)
    result = learner.get(url).text
    assert "You scored 100%" in result
    assert any(text in result for text in FEEDBACK)


def test_an_attempt_shows_the_same_questions_in_the_same_order_on_reload(
    learner: TestClient,
) -> None:
    url = start_quiz(learner)
    first = learner.get(url).text
    assert choices(first) == choices(learner.get(url).text)
    assert start_quiz(learner) == url  # starting again resumes the open attempt
    assert choices(learner.get(url).text) == choices(first)
    [row] = rows(learner, QuizAttempt)
    assert json.loads(row.questions) == asked(first)


def test_new_attempts_draw_afresh(learner: TestClient) -> None:
    draws = set()
    for _ in range(20):
        url = start_quiz(learner)
        page = learner.get(url).text
        draws.add(tuple(choices(page)))
        assert len(asked(page)) == 2
        assert answer(learner, url, WRONG).status_code == 303
    assert len(draws) >= 2
    assert len(rows(learner, QuizAttempt)) == 20


def test_answers_are_scored_on_the_server(learner: TestClient) -> None:
    url = start_quiz(learner)
    shown = learner.get(url).text
    questions = asked(shown)
    mixed = {questions[0]: CORRECT[questions[0]], questions[1]: WRONG[questions[1]]}
    assert post(learner, url, quiz_form(shown, mixed)).status_code == 303
    page = learner.get(url).text
    assert "You scored 50%. The pass mark is 60%." in page
    assert page.count(">Right<") == 1 and page.count(">Not quite<") == 1
    [row] = rows(learner, QuizAttempt)
    assert (row.score, row.passed) == (50, False)
    assert rows(learner, ModuleCompletion) == []


def test_a_submitted_attempt_cannot_be_scored_again(learner: TestClient) -> None:
    see_lessons(learner)
    url = start_quiz(learner)
    assert answer(learner, url, WRONG).status_code == 303
    [before] = rows(learner, QuizAttempt)
    again = answer(learner, url, CORRECT)
    assert again.status_code == 303
    [after] = rows(learner, QuizAttempt)
    assert (after.score, after.passed, after.answers, after.submitted_at) == (
        0,
        False,
        before.answers,
        before.submitted_at,
    )
    assert rows(learner, ModuleCompletion) == []
    assert "You scored 0%" in learner.get(url).text


def test_unanswered_questions_are_shown_again_with_the_answers_kept(learner: TestClient) -> None:
    url = start_quiz(learner)
    shown = learner.get(url).text
    questions = asked(shown)
    first, second = questions
    sent = quiz_form(shown, {first: CORRECT[first]})
    response = post(learner, url, sent)
    assert response.status_code == 400
    page = response.text
    assert re.search(
        rf'id="q-{second}-error" class="govuk-error-message">.*?Choose an answer for question 2',
        page,
        re.S,
    )
    assert f'id="q-{first}-error"' not in page
    for value in sent[f"q-{first}"]:
        assert re.search(
            rf'name="q-{first}" type="(?:radio|checkbox)" value="{value}" checked', page
        )
    assert " checked" not in page.split(f'name="q-{second}"', 1)[1].split("</fieldset>", 1)[0]
    assert asked(page) == questions
    unsubmitted(learner, url)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda qs: {"q-q9": ["0"]}, id="unknown-question"),
        pytest.param(lambda qs: {f"q-{qs[0]}": ["7"]}, id="unknown-option"),
        pytest.param(lambda qs: {f"q-{qs[0]}": ["-1"]}, id="negative-option"),
        pytest.param(
            lambda qs: {f"q-{({'q1', 'q2', 'q3'} - set(qs)).pop()}": ["0"]}, id="question-not-drawn"
        ),
    ],
)
def test_tampered_answers_are_refused_and_nothing_is_recorded(
    learner: TestClient, tamper: Any
) -> None:
    see_lessons(learner)
    url = start_quiz(learner)
    shown = learner.get(url).text
    data = {**quiz_form(shown, CORRECT), **tamper(asked(shown))}
    response = post(learner, url, data)
    assert response.status_code == 400
    assert "We could not accept these answers" in response.text
    assert "Nothing was recorded" in response.text
    unsubmitted(learner, url)


def test_another_learners_attempt_cannot_be_submitted(
    learner: TestClient, organisations: Any
) -> None:
    url = start_quiz(learner)
    form = quiz_form(learner.get(url).text, CORRECT)
    other = TestClient(learner.app, raise_server_exceptions=False)
    sign_up(other, organisations[0], name="Alex Other", email="alex@example.org")
    post(other, "/courses/sample/alpha/enrol")
    other.get(f"{BASE}/lessons/first?note=seen")
    response = post(other, url, form)
    assert response.status_code == 404
    assert "There is no such quiz attempt" in response.text
    unsubmitted(learner, url)
    assert rows(learner, QuizAttempt, QuizAttempt.user_id == me(learner, "alex@example.org")) == []


def test_a_quiz_on_the_wrong_module_is_not_found(learner: TestClient) -> None:
    url = start_quiz(learner)
    form = quiz_form(learner.get(url).text, CORRECT)
    wrong = url.replace("shared-basics", "alpha-only")
    assert learner.get(wrong).status_code == 404
    assert post(learner, wrong, form).status_code == 404
    assert post(learner, f"{BASE}/quiz/999999", form).status_code == 404
    unsubmitted(learner, url)


def test_max_attempts_is_enforced(learner: TestClient) -> None:
    edit_module(learner, "  pass_mark: 60\n", "  pass_mark: 60\n  max_attempts: 2\n")
    assert "You can take it up to 2 times." in learner.get(f"{BASE}/quiz").text
    for _ in range(2):
        assert answer(learner, start_quiz(learner), WRONG).status_code == 303
    refused = post(learner, f"{BASE}/quiz")
    assert refused.status_code == 400
    assert "This quiz allows 2 attempts, and you have used them all" in refused.text
    assert len(rows(learner, QuizAttempt)) == 2


def test_an_attempt_records_module_version_hash_answers_score_and_time(
    learner: TestClient,
) -> None:
    see_lessons(learner)
    url = start_quiz(learner)
    questions = asked(learner.get(url).text)
    answer(learner, url, CORRECT)
    [row] = rows(learner, QuizAttempt)
    module = learner.app.state.catalog.current.course("sample").modules["shared-basics"]  # type: ignore[attr-defined]
    assert (row.user_id, row.course_id, row.module_id, row.module_version) == (
        me(learner),
        "sample",
        "shared-basics",
        2,
    )
    assert row.content_hash == module.sha256
    assert json.loads(row.answers) == {q: CORRECT[q] for q in questions}
    assert (row.score, row.passed) == (100, True)
    assert row.submitted_at is not None
    [done] = rows(learner, ModuleCompletion)
    assert (done.attempt_id, done.module_version, done.content_hash) == (row.id, 2, module.sha256)


def test_a_failure_while_recording_leaves_the_attempt_open(
    learner: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    see_lessons(learner)
    url = start_quiz(learner)

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(completion, "maybe_complete_module", broken)
    response = answer(learner, url, CORRECT)
    assert response.status_code == 500
    assert "Sorry, something went wrong" in response.text
    assert "the database went away" not in response.text
    unsubmitted(learner, url)
    page = learner.get(url).text
    assert "Submit answers" in page and "You scored" not in page
    monkeypatch.undo()
    assert answer(learner, url, CORRECT).status_code == 303
    assert "Module complete" in learner.get(url).text


Q1_OPTIONS = (
    "        - {text: Choice, correct: true, feedback: Yes - choice restores control.}\n"
    "        - {text: Compliance, feedback: Not quite - the principles favour choice.}\n"
)
Q1_SWAPPED = (
    "        - {text: Compliance, feedback: Not quite - the principles favour choice.}\n"
    "        - {text: Choice, correct: true, feedback: Yes - choice restores control.}\n"
)


def _pass_every_question(learner: TestClient) -> str:
    edit_module(learner, "  draw: 2\n", "")  # every question is asked
    see_lessons(learner)
    url = start_quiz(learner)
    assert asked(learner.get(url).text) != [] and answer(learner, url, CORRECT).status_code == 303
    page = learner.get(url).text
    assert "You scored 100%" in page and "Not quite" not in page
    return url


def test_earlier_results_still_match_their_score_after_the_quiz_changes(
    learner: TestClient,
) -> None:
    """A past attempt was scored on the content it was taken on: its results page must not
    judge the recorded answers against a later version and contradict the recorded score."""
    url = _pass_every_question(learner)
    edit_module(learner, Q1_OPTIONS, Q1_SWAPPED)
    edit_module(learner, "version: 2", "version: 3")
    page = learner.get(url)
    assert page.status_code == 200
    assert "You scored 100%" in page.text
    assert "Not quite" not in page.text
    assert "You answered: Compliance" not in page.text


def test_earlier_results_can_still_be_opened_after_a_question_is_replaced(
    learner: TestClient,
) -> None:
    url = _pass_every_question(learner)
    edit_module(learner, "    - id: q3\n", "    - id: q4\n")
    edit_module(learner, "version: 2", "version: 3")
    assert f'href="{url}"' in learner.get(f"{BASE}/quiz").text  # listed as an earlier attempt
    page = learner.get(url)
    assert page.status_code == 200, page.text
    assert "You scored 100%" in page.text
    assert "nothing you answered was recorded" not in page.text


def test_the_page_does_not_say_which_option_is_right(learner: TestClient) -> None:
    """Form values are the choices' places on the page, not their places in the YAML
    (where the right answer is often first): they run 0, 1, 2... down every question."""
    right_places = set()
    for _ in range(20):
        url = start_quiz(learner)
        page = learner.get(url).text
        for qid in asked(page):
            values = re.findall(rf'name="q-{qid}" type="(?:radio|checkbox)" value="([^"]*)"', page)
            if qid == "q3":
                assert values == ["true", "false"]
            else:
                assert values == [str(i) for i in range(len(values))]
        if "q1" in asked(page):
            right_places.update(quiz_form(page, {"q1": ["0"]})["q-q1"])
        assert answer(learner, url, WRONG).status_code == 303
    assert right_places == {"0", "1"}, "the right answer to q1 sat in the same place every time"


def test_rereading_a_lesson_renews_the_session_and_a_lapsed_one_asks_to_sign_in(
    learner: TestClient,
) -> None:
    """A lesson read before is served without writing, unless the session needs it."""
    see_lessons(learner)
    idle = learner.app.state.settings.session_idle_minutes  # type: ignore[attr-defined]
    age(learner, "sam@example.org", last_seen_at=timedelta(minutes=idle - 2))
    assert learner.get(f"{BASE}/lessons/think").status_code == 200
    [live] = sessions_of(learner, "sam@example.org")
    assert utcnow() - _aware(live.last_seen_at) < timedelta(minutes=1)  # renewed
    age(learner, "sam@example.org", last_seen_at=timedelta(minutes=idle + 1))
    lapsed = learner.get(f"{BASE}/lessons/think", follow_redirects=False)
    assert lapsed.status_code == 303
    assert lapsed.headers["location"].startswith("/account/sign-in?next=")
    assert sessions_of(learner, "sam@example.org") == []


def test_deleting_a_reflection_asks_first_and_cancelling_keeps_it(learner: TestClient) -> None:
    from elearn.models import Reflection

    url = "/courses/sample/alpha/shared-basics/lessons/think"
    learner.get("/courses/sample/alpha/shared-basics/lessons/first?note=seen")
    post(learner, f"{url}/reflection", {"text": "Keep this thought"})
    with Session(learner.app.state.engine) as db:  # type: ignore[attr-defined]
        [mine] = db.exec(select(Reflection)).all()
    listing = learner.get("/learning/reflections").text
    assert f'href="/learning/reflections/{mine.id}/delete"' in listing
    ask = learner.get(f"/learning/reflections/{mine.id}/delete").text
    assert "Delete this reflection?" in ask and "Keep this thought" in ask
    assert 'name="csrf_token"' in ask and 'href="/learning/reflections">No, keep it' in ask
    unconfirmed = post(learner, f"/learning/reflections/{mine.id}/delete")
    assert unconfirmed.headers["location"] == f"/learning/reflections/{mine.id}/delete"
    assert "Keep this thought" in learner.get("/learning/reflections").text
    no_token = learner.post(f"/learning/reflections/{mine.id}/delete", data={"confirm": "yes"})
    assert no_token.status_code in (400, 403)
    done = post(learner, f"/learning/reflections/{mine.id}/delete", {"confirm": "yes"})
    assert done.status_code == 303
    assert "Keep this thought" not in learner.get("/learning/reflections").text


def test_learner_page_titles_are_unique_and_name_the_track(learner: TestClient) -> None:
    base = "/courses/sample/alpha/shared-basics"
    pages = [
        "/learning",
        "/courses/sample/alpha",
        base,
        f"{base}/lessons/first?note=seen",
        f"{base}/lessons/think",
        f"{base}/quiz",
        "/learning/reflections",
    ]
    titles = []
    for page in pages:
        text = learner.get(page).text
        titles.append(re.search(r"<title>(.*?)</title>", text, re.S).group(1).strip())  # type: ignore[union-attr]
    assert len(set(titles)) == len(titles), titles
    assert all("Alpha sector track" in t for t in titles[1:6]), titles


def test_a_passed_quiz_lists_the_lessons_not_yet_read(learner: TestClient) -> None:
    learner.get(f"{BASE}/lessons/first?note=seen")
    post(learner, f"{BASE}/lessons/think/skip")
    url = start_quiz(learner)
    page = learner.get(answer(learner, url, CORRECT).headers["location"]).text
    assert "You passed. You have not yet read:" in page
    assert f'href="{BASE}/lessons/think"' in page
    assert f'href="{BASE}/lessons/first"' not in page.split('id="unread"', 1)[1]


def test_a_finished_track_links_to_its_certificate_from_my_learning(learner: TestClient) -> None:
    from tests.web.test_certificates import finish_alpha

    certificate = finish_alpha(learner)
    page = learner.get("/learning").text
    assert f'href="/certificates/{certificate.code}.pdf"' in page
    assert 'href="/certificates">My certificates' in page
    assert learner.get(f"/certificates/{certificate.code}.pdf").status_code == 200
