"""axe-core finds no WCAG 2.2 A or AA problems on any page a learner sees.

Lesson, module and track pages come from the real course in courses/, so its real content
markup is checked. Each page is checked as a signed-out visitor, a new learner with no
tracks, or a learner part-way through the Education track, in the state named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import (
    LiveServer,
    asked_question_ids,
    choice,
    describe_violations,
    form_post,
    new_context,
    quiz_questions,
    right_values,
    run_axe,
    sign_up_quickly,
    wrong_values,
)

COURSE = "trauma-informed-practice"
TRACK = f"/courses/{COURSE}/education"
MODULE = f"{TRACK}/understanding-trauma"  # the learner's module: lessons read, quiz taken
UNTOUCHED = f"{TRACK}/aces-and-resilience"  # a module the learner has not opened


@dataclass
class People:
    """Browser contexts for each kind of visitor, and the URLs made while setting them up."""

    visitor: BrowserContext
    newcomer: BrowserContext
    learner: BrowserContext
    urls: dict[str, str] = field(default_factory=dict)


def _lesson_ids(server: LiveServer, module_id: str) -> list[str]:
    course = server.catalog.course(COURSE)
    assert course is not None
    return [lesson.id for lesson in course.modules[module_id].lessons("education")]


def _take_quiz(learner: BrowserContext, server: LiveServer, pick: Callable[..., list[str]]) -> str:
    """Start an attempt, answer every question with `pick`, and return the attempt's URL."""
    attempt = form_post(learner, f"{MODULE}/quiz").headers["location"]
    page = learner.new_page()
    page.goto(attempt)
    questions = quiz_questions(server, COURSE, "understanding-trauma")
    shown = asked_question_ids(page)
    answers: dict[str, str | list[str]] = {
        f"q-{qid}": [
            str(choice(page, questions[qid], key).get_attribute("value"))
            for key in pick(questions[qid])
        ]
        for qid in shown
    }
    page.close()
    form_post(learner, attempt, answers)
    return str(attempt)


@pytest.fixture(scope="module")
def people(browser: Browser, real_server: LiveServer) -> Iterator[People]:
    """A visitor, a newcomer, and a learner with progress, a reflection and quiz attempts.

    Content Security Policy is bypassed in these contexts only so that axe-core can be
    injected; nothing else about the pages changes.
    """
    visitor, newcomer, learner = (
        new_context(browser, real_server, bypass_csp=True) for _ in range(3)
    )
    people = People(visitor=visitor, newcomer=newcomer, learner=learner)
    sign_up_quickly(people.newcomer, real_server, name="Nia Newcomer")
    sign_up_quickly(learner, real_server, name="Lee Learner")
    form_post(learner, f"{TRACK}/enrol")
    for position, lesson_id in enumerate(_lesson_ids(real_server, "understanding-trauma")):
        assert learner.request.get(
            f"{MODULE}/lessons/{lesson_id}" + ("?note=seen" if position == 0 else "")
        ).ok
    form_post(
        learner,
        f"{MODULE}/lessons/pause-and-reflect/reflection",
        {"text": "Calm, predictable routines.", "action": "save"},
    )
    people.urls["failed"] = _take_quiz(learner, real_server, wrong_values)
    people.urls["passed"] = _take_quiz(learner, real_server, right_values)
    people.urls["open"] = form_post(learner, f"{MODULE}/quiz").headers["location"]
    try:
        yield people
    finally:
        for context in (visitor, newcomer, learner):
            context.close()


Visit = Callable[[Page, People], None]


def goto(path: str) -> Visit:
    def visit(page: Page, people: People) -> None:
        page.goto(path)

    return visit


def goto_url(key: str) -> Visit:
    """Go to a URL made while setting up (a quiz attempt's)."""

    def visit(page: Page, people: People) -> None:
        page.goto(people.urls[key])

    return visit


def sign_in_wrongly(page: Page, people: People) -> None:
    page.goto("/account/sign-in")
    page.get_by_label("Email address").fill("nobody@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()


def sign_up_with_nothing(page: Page, people: People) -> None:
    page.goto("/account/sign-up")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()


def ask_for_reset(email: str) -> Visit:
    def visit(page: Page, people: People) -> None:
        page.goto("/account/forgot")
        page.get_by_label("Email address").fill(email)
        page.get_by_role("button", name="Send the link").click()
        page.wait_for_load_state()

    return visit


def save_empty_reflection(page: Page, people: People) -> None:
    page.goto(f"{UNTOUCHED}/lessons/pause-and-reflect?note=seen")
    page.get_by_role("button", name="Save reflection").click()
    expect(page.locator("#text-error")).to_be_visible()


def submit_no_answers(page: Page, people: People) -> None:
    page.goto(people.urls["open"])
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()


# (who, how to get there) for every page checked; ids name the page and its state.
PAGES: dict[str, tuple[str, Visit]] = {
    "home, signed out": ("visitor", goto("/")),
    "home, signed in": ("learner", goto("/")),
    "track, signed out": ("visitor", goto(TRACK)),
    "track, signed in, not started": ("newcomer", goto(TRACK)),
    "track, signed in, with progress": ("learner", goto(TRACK)),
    "module overview, signed out": ("visitor", goto(MODULE)),
    "module overview, signed in": ("learner", goto(UNTOUCHED)),
    "content note": ("learner", goto(f"{UNTOUCHED}/start")),
    "reflection lesson, empty": ("learner", goto(f"{UNTOUCHED}/lessons/pause-and-reflect")),
    "reflection lesson, with a saved reflection": (
        "learner",
        goto(f"{MODULE}/lessons/pause-and-reflect"),
    ),
    "reflection lesson, just saved": (
        "learner",
        goto(f"{MODULE}/lessons/pause-and-reflect?saved=saved#reflection"),
    ),
    "reflection lesson, with an error": ("learner", save_empty_reflection),
    "quiz intro, with earlier attempts": ("learner", goto(f"{MODULE}/quiz")),
    "quiz questions": ("learner", goto_url("open")),
    "quiz questions, with errors": ("learner", submit_no_answers),
    "quiz results, not passed": ("learner", goto_url("failed")),
    "quiz results, passed": ("learner", goto_url("passed")),
    "my learning, no tracks yet": ("newcomer", goto("/learning")),
    "my learning, with progress": ("learner", goto("/learning")),
    "reflections, none yet": ("newcomer", goto("/learning/reflections")),
    "reflections, one saved": ("learner", goto("/learning/reflections")),
    "sign in": ("visitor", goto("/account/sign-in")),
    "sign in, with an error": ("visitor", sign_in_wrongly),
    "sign up": ("visitor", goto("/account/sign-up")),
    "sign up, with errors": ("visitor", sign_up_with_nothing),
    "forgotten password": ("visitor", goto("/account/forgot")),
    "forgotten password, with an error": ("visitor", ask_for_reset("not an address")),
    "forgotten password, link sent": ("visitor", ask_for_reset("someone@example.org")),
    "account": ("learner", goto("/account")),
    "support": ("visitor", goto("/support")),
    "support, Nottinghamshire": ("learner", goto("/support/nottinghamshire")),
    "support, Leicestershire": ("visitor", goto("/support/leicestershire")),
    "accessibility statement": ("visitor", goto("/accessibility")),
    "page not found": ("visitor", goto("/no-such-page")),
    "module not found": ("learner", goto(f"{TRACK}/no-such-module")),
}


def _lesson_pages() -> dict[str, tuple[str, Visit]]:
    """Every text lesson of the learner's module, as the Education track shows it."""
    from elearn.content.catalog import load_catalog
    from tests.conftest import REAL_COURSES

    course = load_catalog(REAL_COURSES).course(COURSE)
    assert course is not None
    lessons = course.modules["understanding-trauma"].lessons("education")
    return {
        f"text lesson {lesson.id}": ("learner", goto(f"{MODULE}/lessons/{lesson.id}"))
        for lesson in lessons
        if lesson.kind != "reflection"
    }


PAGES.update(_lesson_pages())


@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_wcag_violations(name: str, people: People) -> None:
    who, visit = PAGES[name]
    page = getattr(people, who).new_page()
    try:
        visit(page, people)
        page.wait_for_load_state()
        violations = run_axe(page)
        assert not violations, (
            f"axe found {len(violations)} rule(s) failing on {name} ({page.url}):\n"
            + describe_violations(violations)
        )
    finally:
        page.close()


def test_the_axe_check_reports_a_planted_violation(people: People) -> None:
    """Guards the check itself: an image without alt text must be reported, not missed."""
    page = people.visitor.new_page()
    try:
        page.goto("/")
        page.evaluate(
            """() => document.querySelector("main").insertAdjacentHTML(
                   "beforeend", '<img src="/static/images/favicon.svg" id="planted">')"""
        )
        violations = run_axe(page)
        assert [v["id"] for v in violations] == ["image-alt"], describe_violations(violations)
        assert violations[0]["nodes"][0]["target"] == ["#planted"]
    finally:
        page.close()
