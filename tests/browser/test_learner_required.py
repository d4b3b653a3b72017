"""A learner's required training on My learning: by keyboard, without JavaScript, axe-clean."""

from __future__ import annotations

import os
from datetime import timedelta

from playwright.sync_api import Browser, Page
from sqlmodel import Session, select

from elearn.models import Assignment, Organisation, User, utcnow
from elearn.services import training
from tests.browser.conftest import (
    LiveServer,
    focused,
    new_context,
    run_axe,
    sign_up_quickly,
    tab_to,
)


def _require(server: LiveServer, email: str) -> None:
    """Overdue, due soon and not yet due training for this learner's organisation."""
    with Session(server.engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        org = db.get(Organisation, server.organisation_id)
        assert org is not None
        today = utcnow().date()
        for days, what in ((-3, {"module_id": "alpha-only"}), (10, {"track_id": "alpha"})):
            training.add_assignment(
                db,
                actor=user,
                assignment=Assignment(
                    partnership_id=org.partnership_id,
                    course_id="sample",
                    organisation_id=org.id,
                    due_on=today + timedelta(days=days),
                    **what,
                ),
            )


def _signed_up_with_requirements(page: Page, server: LiveServer) -> None:
    email = sign_up_quickly(page.context, server)
    _require(server, email)
    page.goto(f"{server.url}/learning")


def test_required_training_links_are_reached_by_keyboard(
    page: Page, sample_server: LiveServer
) -> None:
    _signed_up_with_requirements(page, sample_server)
    link = page.locator("#required a").first
    tab_to(page, link)
    assert "alpha-only" in (link.get_attribute("href") or "")
    page.keyboard.press("Enter")
    page.wait_for_url("**/courses/sample/alpha/alpha-only")
    assert focused(page) is not None


def test_required_training_passes_axe_and_is_captured(
    browser: Browser, sample_server: LiveServer
) -> None:
    page = new_context(browser, sample_server, bypass_csp=True).new_page()
    _signed_up_with_requirements(page, sample_server)
    assert page.locator("#required li").count() >= 2
    assert run_axe(page) == []
    folder = os.environ.get("SHOTS_DIR")
    if folder:
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{folder}/learner-required-{width}.png", full_page=True)


def test_required_training_without_javascript(no_js_page: Page, sample_server: LiveServer) -> None:
    _signed_up_with_requirements(no_js_page, sample_server)
    items = no_js_page.locator("#required li")
    assert items.count() >= 2
    assert "Overdue" in items.first.inner_text()
    items.first.locator("a").click()
    no_js_page.wait_for_url("**/courses/sample/alpha/alpha-only")
