"""The learner journey in a real browser: sign up, learn, reflect, pass the quiz, finish a track.

The same journey runs with JavaScript on and with it off: every form must work both ways.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from elearn.content.schema import Question
from tests.browser.conftest import (
    ORGANISATION,
    LiveServer,
    asked_question_ids,
    choice,
    feedback_for,
    form_post,
    heading,
    new_email,
    quiz_questions,
    right_values,
    sign_up_quickly,
    wrong_values,
)
from tests.conftest import PASSWORD

TRACK = "/courses/sample/alpha"
SHARED = f"{TRACK}/shared-basics"
ONLY = f"{TRACK}/alpha-only"
REFLECTION = "Knowing what is going to happen next, and who to ask."


def answer_quiz(
    page: Page, server: LiveServer, pick: Callable[[Question], list[str]]
) -> dict[str, list[str]]:
    """Choose, by clicking, the options `pick(question)` names for each question shown."""
    questions = quiz_questions(server, "sample", "shared-basics")
    chosen = {}
    for qid in asked_question_ids(page):
        chosen[qid] = pick(questions[qid])
        for key in chosen[qid]:
            choice(page, questions[qid], key).check()
    return chosen


def expect_results(
    page: Page, server: LiveServer, chosen: dict[str, list[str]], verdict: str
) -> None:
    """Each question's result says `verdict` and shows the feedback for the chosen options."""
    questions = quiz_questions(server, "sample", "shared-basics")
    for qid, values in chosen.items():
        result = page.locator(".app-result").filter(
            has=page.get_by_role("heading", name=questions[qid].prompt)
        )
        expect(result.get_by_text(verdict, exact=True)).to_be_visible()
        expect(result.get_by_role("listitem")).to_have_text(feedback_for(questions[qid], values))


def walk_the_alpha_track(page: Page, server: LiveServer) -> None:
    """From the home page to a completed alpha track, by pointer and form filling."""
    page.goto("/")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Create an account").click()
    expect(heading(page)).to_have_text("Create an account")
    page.get_by_label("Full name").fill("Sam Learner")
    email = new_email()
    page.get_by_label("Work email address").fill(email)
    page.get_by_label("Organisation").select_option(label=ORGANISATION)
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(heading(page)).to_have_text("Check your email")
    page.goto(server.confirm_link(email))  # the link in the email
    page.get_by_role("button", name="Confirm and sign in").click()

    expect(page).to_have_url(f"{server.url}/learning")
    expect(heading(page)).to_have_text("My learning")
    expect(page.get_by_text("Hello Sam Learner.")).to_be_visible()
    page.get_by_role("button", name="Start Alpha sector track").click()

    expect(page).to_have_url(f"{server.url}{TRACK}")
    expect(page.get_by_text("0 of 2 modules complete.")).to_be_visible()
    page.get_by_role("link", name="1. Shared basics").click()

    expect(heading(page)).to_have_text("Shared basics")
    page.get_by_role("link", name="Start this module").click()

    expect(heading(page)).to_have_text("Before you start: Shared basics")
    expect(page.get_by_text("This module mentions difficult experiences")).to_be_visible()
    expect(page.get_by_role("link", name="Skip this module for now")).to_be_visible()
    page.get_by_role("link", name="Continue to the module").click()

    expect(heading(page)).to_have_text("First lesson")
    expect(page.get_by_text("Alpha replaces the text.")).to_be_visible()  # the track's variant
    expect(page.get_by_text("The shared text for everyone.")).to_have_count(0)
    page.get_by_role("link", name="Next: Pause and reflect").click()

    expect(heading(page)).to_have_text("Pause and reflect")
    expect(page.get_by_text("What helps you feel safe at work?")).to_be_visible()
    page.get_by_label("Your reflection").fill(REFLECTION)
    page.get_by_role("button", name="Save reflection").click()
    expect(page.get_by_text("Your reflection is saved. Only you can see it.")).to_be_visible()
    expect(page.get_by_label("Your reflection")).to_have_value(REFLECTION)
    page.reload()
    expect(page.get_by_label("Your reflection")).to_have_value(REFLECTION)
    page.get_by_role("link", name="Go to the quiz").click()

    expect(heading(page)).to_have_text("Quiz")
    expect(page.get_by_text("2 questions. There is no time limit.")).to_be_visible()
    page.get_by_role("button", name="Start the quiz").click()
    expect(page).to_have_url(re.compile(rf"{SHARED}/quiz/\d+$"))
    chosen = answer_quiz(page, server, right_values)
    assert len(chosen) == 2
    page.get_by_role("button", name="Submit answers").click()

    expect(heading(page)).to_have_text("Your quiz results")
    expect(page.get_by_role("heading", name="You scored 100%")).to_be_visible()
    expect(page.get_by_text("Module complete. Well done.")).to_be_visible()
    expect_results(page, server, chosen, "Right")
    page.get_by_role("link", name="Continue", exact=True).click()

    expect(page).to_have_url(f"{server.url}{ONLY}")
    expect(heading(page)).to_have_text("Alpha only")
    page.get_by_role("link", name="Start this module").click()

    expect(heading(page)).to_have_text("Only lesson")
    expect(page.locator(".app-prose strong", has_text="bold")).to_be_visible()
    page.get_by_role("link", name="Finish this module").click()

    expect(page).to_have_url(f"{server.url}/learning")
    card = page.get_by_role("region", name=re.compile("Alpha sector"))
    expect(card.get_by_text("Completed", exact=True)).to_be_visible()
    expect(card.get_by_text("2 of 2 modules complete")).to_be_visible()

    page.get_by_role("link", name="Your private reflections").click()
    expect(page.get_by_text(REFLECTION)).to_be_visible()


def test_a_new_learner_signs_up_and_completes_the_alpha_track(
    page: Page, sample_server: LiveServer
) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console error: {message.text}") if message.type == "error" else None
        ),
    )
    walk_the_alpha_track(page, sample_server)
    assert problems == [], "the pages logged errors:\n" + "\n".join(problems)


def test_the_whole_journey_works_without_javascript(
    no_js_page: Page, sample_server: LiveServer
) -> None:
    walk_the_alpha_track(no_js_page, sample_server)


def test_a_wrong_answer_says_not_quite_with_feedback_and_the_quiz_can_be_retaken(
    page: Page, sample_server: LiveServer
) -> None:
    context: BrowserContext = page.context
    sign_up_quickly(context, sample_server)
    form_post(context, f"{TRACK}/enrol")

    page.goto(f"{SHARED}/quiz")
    page.get_by_role("button", name="Start the quiz").click()
    first_attempt = page.url
    chosen = answer_quiz(page, sample_server, wrong_values)
    page.get_by_role("button", name="Submit answers").click()

    expect(heading(page)).to_have_text("Your quiz results")
    expect(page.get_by_text("You scored 0%. The pass mark is 60%.")).to_be_visible()
    expect(page.get_by_text("Not quite", exact=True)).to_have_count(len(chosen))
    expect_results(page, sample_server, chosen, "Not quite")
    expect(page.get_by_text("Module complete")).to_have_count(0)

    page.get_by_role("button", name="Take the quiz again").click()
    expect(heading(page)).to_have_text("Quiz")
    assert page.url.split("#")[0] != first_attempt.split("#")[0], "a retake is a new attempt"
    expect(page.locator("input[name^='q-']:checked")).to_have_count(0)
    answer_quiz(page, sample_server, right_values)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", name="You scored 100%")).to_be_visible()
