"""The whole journey by keyboard alone: Tab, Shift+Tab, Enter, Space and the arrow keys.

Nothing is clicked, and text goes only into fields reached by tabbing. On the way, the
element with focus must show a visible focus indicator.
"""

from __future__ import annotations

import re
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    ORGANISATION,
    LiveServer,
    asked_question_ids,
    assert_focus_visible,
    form_post,
    heading,
    new_context,
    new_email,
    option_text,
    quiz_questions,
    right_values,
    sign_up_quickly,
    tab_to,
)
from tests.conftest import PASSWORD

TRACK = "/courses/sample/alpha"
REFLECTION = "Having a quiet space to go to."


def type_into(page: Page, label: str, text: str) -> None:
    """Tab to the field labelled `label` and type into it."""
    field = page.get_by_label(label, exact=True)
    tab_to(page, field)
    assert_focus_visible(page)
    page.keyboard.type(text)
    expect(field).to_have_value(text)


def activate(page: Page, role: Literal["button", "link"], name: str, key: str = "Enter") -> None:
    """Tab to a link or button and press `key` on it."""
    # An htmx swap still settling could replace the element between focus and key press.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    target = page.get_by_role(role, name=name, exact=True)
    tab_to(page, target)
    assert_focus_visible(page)
    page.keyboard.press(key)


def answer_by_keyboard(page: Page, server: LiveServer) -> None:
    """Answer each question correctly: arrows choose radios, Space ticks checkboxes."""
    questions = quiz_questions(server, "sample", "shared-basics")
    for qid in asked_question_ids(page):
        question = questions[qid]
        inputs = page.locator(f"input[name='q-{qid}']")
        labels = inputs.evaluate_all("els => els.map(e => e.labels[0].textContent.trim())")
        wanted = [option_text(question, key) for key in right_values(question)]
        if question.kind == "multiple":
            for text in wanted:
                tab_to(page, inputs.nth(labels.index(text)))
                assert_focus_visible(page)
                page.keyboard.press("Space")
        else:
            tab_to(page, inputs.first)  # Tab enters a radio group at its first radio
            assert_focus_visible(page)
            # Arrow keys move through the group and select as they go: down to the
            # second choice first, then up or down to the right one.
            page.keyboard.press("ArrowDown")
            current, position = 1, labels.index(wanted[0])
            while current != position:
                page.keyboard.press("ArrowDown" if current < position else "ArrowUp")
                current += 1 if current < position else -1
        for place, text in enumerate(labels):
            expect(inputs.nth(place)).to_be_checked(checked=text in wanted)


def test_the_whole_journey_can_be_done_by_keyboard_alone(
    page: Page, sample_server: LiveServer
) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("#main-content")).to_be_focused()

    # From the main content, back up into the menu to sign in, then on to create an account.
    sign_in = page.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign in")
    tab_to(page, sign_in, backwards=True)
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Sign in")
    activate(page, "link", "Create an account")

    expect(heading(page)).to_have_text("Create an account")
    type_into(page, "Full name", "Kim Keyboard")
    email = new_email()
    type_into(page, "Work email address", email)
    organisation = page.get_by_label("Organisation")
    tab_to(page, organisation)
    assert_focus_visible(page)
    page.keyboard.type(ORGANISATION[:9])  # type-ahead picks the option
    expect(organisation).to_have_value(str(sample_server.organisation_id))
    type_into(page, "Create a password", PASSWORD)
    activate(page, "button", "Create account")
    expect(heading(page)).to_have_text("Check your email")
    page.goto(sample_server.confirm_link(email))  # the link in the email
    activate(page, "button", "Confirm and sign in")

    expect(page).to_have_url(f"{sample_server.url}/learning")
    activate(page, "button", "Start Alpha sector track", key="Space")

    expect(page).to_have_url(f"{sample_server.url}{TRACK}")
    activate(page, "link", "1. Shared basics")
    expect(heading(page)).to_have_text("Shared basics")
    activate(page, "link", "Start this module")
    expect(heading(page)).to_have_text("Before you start: Shared basics")
    activate(page, "link", "Continue to the module")

    expect(heading(page)).to_have_text("First lesson")
    activate(page, "link", "Next: Pause and reflect")

    expect(heading(page)).to_have_text("Pause and reflect")
    type_into(page, "Your reflection", REFLECTION)
    activate(page, "button", "Save reflection")
    expect(page.get_by_text("Your reflection is saved. Only you can see it.")).to_be_visible()
    activate(page, "link", "Go to the quiz")

    expect(heading(page)).to_have_text("Quiz")
    activate(page, "button", "Start the quiz")
    expect(page).to_have_url(re.compile(rf"{TRACK}/shared-basics/quiz/\d+$"))
    answer_by_keyboard(page, sample_server)
    activate(page, "button", "Submit answers")

    expect(page.get_by_role("heading", name="You scored 100%")).to_be_visible()
    activate(page, "link", "Continue")

    expect(heading(page)).to_have_text("Alpha only")
    activate(page, "link", "Start this module")
    expect(heading(page)).to_have_text("Only lesson")
    activate(page, "link", "Finish this module")

    expect(page).to_have_url(f"{sample_server.url}/learning")
    card = page.get_by_role("region", name=re.compile("Alpha sector"))
    expect(card.get_by_text("Completed", exact=True)).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_saving_an_empty_reflection_moves_focus_to_the_error_summary(
    browser: Browser, sample_server: LiveServer, javascript: bool
) -> None:
    """As on every other form: the summary names the problem, has focus, and links to the box."""
    context = new_context(browser, sample_server, java_script_enabled=javascript)
    try:
        sign_up_quickly(context, sample_server)
        form_post(context, f"{TRACK}/enrol")
        page = context.new_page()
        page.goto(f"{TRACK}/shared-basics/lessons/think?note=seen")
        tab_to(page, page.get_by_label("Your reflection"))
        activate(page, "button", "Save reflection")

        summary = page.locator(".govuk-error-summary")
        expect(summary).to_be_visible()
        expect(summary).to_be_focused()
        problem = summary.get_by_role("link", name=re.compile("^Write something to save"))
        expect(problem).to_have_attribute("href", "#text")
        expect(page.locator("#text-error")).to_be_visible()
        expect(page).to_have_title(re.compile("^Error: "))
    finally:
        context.close()
