"""Exit this page: the button and Shift pressed three times leave for the exit URL at once,
and the back button does not bring the page back. Without JavaScript it is a plain link."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, sign_up_quickly, tab_to

BEFORE = "/accessibility"  # an earlier page in the history
SENSITIVE = "/courses/sample/alpha/shared-basics"  # the page being left


def open_sensitive_page(page: Page) -> None:
    page.goto(BEFORE)
    page.goto(SENSITIVE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Shared basics")


def expect_left_without_trace(page: Page, server: LiveServer) -> None:
    """The browser is at the exit URL, and going back skips the page that was left."""
    page.wait_for_url(server.exit_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Get support")
    page.go_back()
    page.wait_for_load_state()
    assert not page.url.endswith(SENSITIVE), "Back returned to the page the learner exited"
    assert page.url.endswith(BEFORE)


def test_the_exit_button_leaves_and_back_does_not_return(
    page: Page, sample_server: LiveServer
) -> None:
    open_sensitive_page(page)
    page.get_by_role("button", name="Emergency Exit this page").click()
    expect_left_without_trace(page, sample_server)


def test_the_exit_button_works_from_the_keyboard_with_space(
    page: Page, sample_server: LiveServer
) -> None:
    open_sensitive_page(page)
    tab_to(page, page.get_by_role("button", name="Emergency Exit this page"))
    page.keyboard.press("Space")  # a link with role="button" must respond to Space too
    expect_left_without_trace(page, sample_server)


def test_pressing_shift_three_times_leaves_and_back_does_not_return(
    page: Page, sample_server: LiveServer
) -> None:
    open_sensitive_page(page)
    for _ in range(3):
        page.keyboard.press("Shift")
    expect_left_without_trace(page, sample_server)


def test_without_javascript_the_exit_button_is_a_plain_link_to_the_exit_url(
    no_js_page: Page, sample_server: LiveServer
) -> None:
    page = no_js_page
    open_sensitive_page(page)
    exit_link = page.get_by_role("button", name="Emergency Exit this page")
    expect(exit_link).to_have_attribute("href", sample_server.exit_url)
    assert exit_link.evaluate("el => el.tagName") == "A"
    exit_link.click()
    page.wait_for_url(sample_server.exit_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Get support")


def test_exit_also_signs_out_so_back_cannot_reopen_personal_pages(
    page: Page, sample_server: LiveServer
) -> None:
    sign_up_quickly(page.context, sample_server)
    page.goto(sample_server.url + "/learning")
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")
    page.get_by_role("button", name="Emergency Exit this page").click()
    page.wait_for_url(sample_server.exit_url)
    page.go_back()
    page.wait_for_load_state()
    assert "/account/sign-in" in page.url or not page.url.endswith("/learning"), page.url
    page.goto(sample_server.url + "/learning")
    expect(page).to_have_url(re.compile(r"/account/sign-in"))
