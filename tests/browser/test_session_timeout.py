"""The timeout warning, and nothing typed lost to the timeout: in Chromium, with and without
JavaScript, by keyboard, checked with axe-core."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from elearn.models import AuthSession, Reflection, User, utcnow
from tests.browser.conftest import (
    PASSWORD,
    LiveServer,
    describe_violations,
    focused,
    new_context,
    run_axe,
    sign_up_quickly,
)

THINK = "/courses/sample/alpha/shared-basics/lessons/think"
SHOTS = os.environ.get("ELEARN_SCREENSHOTS")  # a folder to save screenshots in, when set


@pytest.fixture
def page(browser: Browser, sample_server: LiveServer) -> Iterator[Page]:
    """A page that axe-core can be injected into, JavaScript on."""
    context = new_context(browser, sample_server, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def _user_id(server: LiveServer, email: str) -> int:
    with Session(server.engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        assert user.id is not None
        return user.id


def _end_sessions_of(server: LiveServer, user_id: int) -> None:
    """Make the server's record say the person has been idle for over an hour."""
    with Session(server.engine) as db:
        db.execute(
            sa.update(AuthSession)
            .where(AuthSession.user_id == user_id)  # type: ignore[arg-type]
            .values(last_seen_at=utcnow() - timedelta(minutes=61))
        )
        db.commit()


def _last_seen(server: LiveServer, user_id: int) -> list[object]:
    with Session(server.engine) as db:
        return list(
            db.exec(select(AuthSession.last_seen_at).where(AuthSession.user_id == user_id)).all()
        )


def _reflections(server: LiveServer, user_id: int) -> list[str]:
    with Session(server.engine) as db:
        return list(db.exec(select(Reflection.text).where(Reflection.user_id == user_id)).all())


def _open_lesson(page: Page, server: LiveServer) -> tuple[str, int]:
    email = sign_up_quickly(page.context, server)
    page.clock.install()
    page.goto("/courses/sample/alpha/shared-basics/lessons/first?note=seen")
    page.goto(THINK)
    return email, _user_id(server, email)


def _sign_in(page: Page, email: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_warning_comes_before_the_timeout_and_stay_signed_in_keeps_the_session(
    page: Page, sample_server: LiveServer
) -> None:
    _email, user_id = _open_lesson(page, sample_server)
    dialog = page.get_by_role("dialog")
    page.clock.fast_forward("50:00")
    expect(dialog).to_be_hidden()
    page.clock.fast_forward("07:30")  # two minutes or less before the end
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("You’re about to be signed out")
    expect(dialog).to_contain_text("we will sign you out in")
    assert "You’re about to be signed out" in focused(page)
    violations = run_axe(page)
    assert violations == [], describe_violations(violations)
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/timeout-warning.png")
    before = _last_seen(sample_server, user_id)
    page.keyboard.press("Tab")
    assert 'data-action="stay"' in focused(page)
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    for _ in range(50):
        if _last_seen(sample_server, user_id) != before:
            break
        page.wait_for_timeout(50)
    assert _last_seen(sample_server, user_id) != before, "the session was not kept alive"
    # The clock starts again: no warning for another 57 minutes.
    page.clock.fast_forward("30:00")
    expect(dialog).to_be_hidden()


def test_escape_means_stay_signed_in(page: Page, sample_server: LiveServer) -> None:
    _open_lesson(page, sample_server)
    page.clock.fast_forward("58:00")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.clock.fast_forward("10:00")
    expect(dialog).to_be_hidden()


def test_after_the_timeout_a_reflection_typed_is_saved_once_signed_in_again(
    page: Page, sample_server: LiveServer
) -> None:
    email, user_id = _open_lesson(page, sample_server)
    page.get_by_label("Your reflection").fill("Typed slowly over an hour")
    _end_sessions_of(sample_server, user_id)
    page.clock.fast_forward("01:00:00")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text("You have been signed out")
    violations = run_axe(page)
    assert violations == [], describe_violations(violations)
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/timeout-signed-out.png")
    dialog.get_by_role("button", name="Stay on this page").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Your reflection")).to_have_value("Typed slowly over an hour")
    page.get_by_role("button", name="Save reflection").click()
    page.wait_for_url("**/account/sign-in**")
    expect(page.locator("#sign-in-reason")).to_contain_text("What you sent has been kept")
    expect(page.locator("#sign-in-reason")).to_contain_text("without activity")
    violations = run_axe(page)
    assert violations == [], describe_violations(violations)
    _sign_in(page, email)
    page.wait_for_url(f"**{THINK}?saved=saved#reflection")
    expect(page.get_by_text("Your reflection is saved")).to_be_visible()
    expect(page.get_by_label("Your reflection")).to_have_value("Typed slowly over an hour")
    assert _reflections(sample_server, user_id) == ["Typed slowly over an hour"]


def test_without_javascript_a_reflection_sent_after_the_timeout_is_kept(
    no_js_page: Page, sample_server: LiveServer
) -> None:
    page = no_js_page
    email = sign_up_quickly(page.context, sample_server)
    user_id = _user_id(sample_server, email)
    page.goto("/courses/sample/alpha/shared-basics/lessons/first?note=seen")
    page.goto(THINK)
    expect(page.get_by_role("dialog")).to_have_count(0)  # a dialog never shows without script
    page.get_by_label("Your reflection").fill("Written without scripts")
    _end_sessions_of(sample_server, user_id)
    page.get_by_role("button", name="Save reflection").click()
    expect(page.locator("#sign-in-reason")).to_contain_text("signed out after 60 minutes")
    expect(page.locator("#sign-in-reason")).to_contain_text("What you sent has been kept")
    _sign_in(page, email)
    expect(page.get_by_text("Your reflection is saved")).to_be_visible()
    assert page.url.endswith(f"{THINK}?saved=saved#reflection")
    assert _reflections(sample_server, user_id) == ["Written without scripts"]


def test_the_warning_has_its_own_way_out(page: Page, sample_server: LiveServer) -> None:
    _open_lesson(page, sample_server)
    page.clock.fast_forward("58:00")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("link", name="Exit this page").click()
    page.wait_for_url(sample_server.exit_url)
