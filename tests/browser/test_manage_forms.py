"""Required training and certificate revocation in a real browser: the three-box due date by
keyboard and without JavaScript, with errors beside it; removing and revoking ask first, and
cancelling keeps everything. Every new page passes axe-core."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from elearn.models import Organisation, Team, TeamManager, User, utcnow
from elearn.services.passwords import hash_password
from tests.browser.conftest import LiveServer, focused, new_context, sign_up_quickly, tab_to
from tests.browser.test_certificates import finish_alpha, make_admin, sign_in
from tests.browser.test_manage import no_violations
from tests.conftest import PASSWORD

SHOTS = Path(os.environ.get("ELEARN_SHOTS", "/tmp/shots"))


def _manager(server: LiveServer) -> tuple[str, str]:
    """A manager of a new team of their own: (email, team name)."""
    email = f"manager-{uuid.uuid4().hex[:8]}@example.org"
    team_name = f"Forms team {uuid.uuid4().hex[:4]}"
    with Session(server.engine) as db:
        org = db.get(Organisation, server.organisation_id)
        assert org is not None
        team = Team(organisation_id=org.id or 0, name=team_name)
        manager = User(
            email=email,
            name="Mo Manager",
            password_hash=hash_password(PASSWORD),
            role="manager",
            partnership_id=org.partnership_id,
        )
        db.add_all([team, manager])
        db.commit()
        db.add(TeamManager(team_id=team.id or 0, user_id=manager.id or 0))
        db.commit()
    return email, team_name


def _pages(browser: Browser, server: LiveServer, *, js: bool, **options: object) -> Iterator[Page]:
    email, _ = _manager(server)
    context = new_context(browser, server, bypass_csp=True, java_script_enabled=js, **options)
    page = context.new_page()
    sign_in(page, email)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def manager(browser: Browser, sample_server: LiveServer) -> Iterator[Page]:
    yield from _pages(browser, sample_server, js=True)


@pytest.fixture
def manager_without_js(browser: Browser, sample_server: LiveServer) -> Iterator[Page]:
    yield from _pages(browser, sample_server, js=False)


def fill_form_by_keyboard(page: Page, day: str, month: str, year: str) -> None:
    """Choose the track and the team and type the due date, with the keyboard only."""
    item = page.get_by_label("Track or module")
    tab_to(page, item)
    item.select_option(label="Alpha sector")  # a select is chosen with arrow keys; same event
    team = page.get_by_label("Team", exact=True)
    tab_to(page, team)
    page.keyboard.press("ArrowDown")
    tab_to(page, page.get_by_label("Day", exact=True))
    page.keyboard.type(day)
    page.keyboard.press("Tab")
    assert "due-month" in focused(page), focused(page)
    page.keyboard.type(month)
    page.keyboard.press("Tab")
    assert "due-year" in focused(page), focused(page)
    page.keyboard.type(year)


def test_the_due_date_by_keyboard_with_errors_beside_it(manager: Page) -> None:
    page = manager
    page.goto("/manage/assignments")
    fields = page.get_by_role("group", name="Due date")
    expect(fields.get_by_label("Day", exact=True)).to_have_attribute("inputmode", "numeric")
    expect(fields.get_by_label("Year", exact=True)).to_have_class(
        re.compile("govuk-input--width-4")
    )
    fill_form_by_keyboard(page, "31", "2", str(utcnow().year + 1))
    page.keyboard.press("Enter")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()  # read out first, as GOV.UK Frontend does
    expect(summary).to_contain_text("Due date must be a real date")
    expect(page.locator("#due-error")).to_have_text("Error: Due date must be a real date")
    expect(page.get_by_label("Day", exact=True)).to_have_value("31")  # what was typed is kept
    expect(page).to_have_title(re.compile(r"^Error: "))
    no_violations(page, "required training, a bad date")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "manage-required-training-error-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(SHOTS / "manage-required-training-error-375.png"), full_page=True)
    no_violations(page, "required training, a bad date, 375 px wide")
    page.set_viewport_size({"width": 1280, "height": 900})
    # The summary's link takes the keyboard to the box to correct.
    summary.get_by_role("link", name="Due date must be a real date").press("Enter")
    expect(page.get_by_label("Day", exact=True)).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("28")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The training is now required.")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text(f"28 February {utcnow().year + 1}")


def test_the_due_date_without_javascript(manager_without_js: Page) -> None:
    page = manager_without_js
    page.goto("/manage/assignments")
    page.get_by_label("Track or module").select_option(label="Alpha sector")
    page.get_by_label("Team", exact=True).select_option(index=1)
    page.get_by_label("Day", exact=True).fill("31012027")
    page.get_by_role("button", name="Require this training").click()
    expect(page.locator("#due-error")).to_have_text("Error: Due date must include a month and year")
    expect(page.get_by_label("Day", exact=True)).to_have_value("31012027")
    past = utcnow().date() - timedelta(days=1)
    page.get_by_label("Day", exact=True).fill(str(past.day))
    page.get_by_label("Month", exact=True).fill(str(past.month))
    page.get_by_label("Year", exact=True).fill(str(past.year))
    page.get_by_role("button", name="Require this training").click()
    expect(page.locator("#due-error")).to_have_text(
        "Error: Due date must be today or in the future"
    )
    today = utcnow().date()
    page.get_by_label("Day", exact=True).fill(str(today.day))
    page.get_by_label("Month", exact=True).fill(str(today.month))
    page.get_by_label("Year", exact=True).fill(str(today.year))
    page.get_by_role("button", name="Require this training").click()
    expect(page.get_by_text("The training is now required.")).to_be_visible()


def _one_required(page: Page) -> None:
    page.goto("/manage/assignments")
    page.get_by_label("Track or module").select_option(label="Alpha sector")
    page.get_by_label("Team", exact=True).select_option(index=1)
    page.get_by_label("Day", exact=True).fill("1")
    page.get_by_label("Month", exact=True).fill("6")
    page.get_by_label("Year", exact=True).fill(str(utcnow().year + 1))
    page.get_by_role("button", name="Require this training").click()
    expect(page.get_by_text("The training is now required.")).to_be_visible()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_removing_and_changing_required_training_by_keyboard(
    browser: Browser, sample_server: LiveServer, js: bool
) -> None:
    for page in _pages(browser, sample_server, js=js):
        _one_required(page)
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(1)
        # Remove asks first; "No, keep it" goes back with nothing changed.
        tab_to(page, page.get_by_role("link", name=re.compile(r"^Remove Alpha sector")))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Are you sure you want to stop requiring this training?"
        )
        if js:
            no_violations(page, "remove required training?")
        tab_to(page, page.get_by_role("link", name="No, keep it"))
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/manage/assignments$"))
        expect(rows).to_have_count(1)
        # Change the date, by keyboard.
        tab_to(page, page.get_by_role("link", name=re.compile(r"^Change Alpha sector")))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Change required training")
        if js:
            no_violations(page, "change required training")
        year = utcnow().year + 2
        tab_to(page, page.get_by_label("Year", exact=True))
        page.keyboard.press("Control+a")
        page.keyboard.type(str(year))
        tab_to(page, page.get_by_label("Required again every (months)"))
        page.keyboard.type("12")
        page.keyboard.press("Enter")
        expect(page.get_by_text("The required training is changed.")).to_be_visible()
        expect(rows.first).to_contain_text(f"1 June {year}")
        expect(rows.first).to_contain_text("12 months")
        # Then remove it for real.
        tab_to(page, page.get_by_role("link", name=re.compile(r"^Remove Alpha sector")))
        page.keyboard.press("Enter")
        tab_to(page, page.get_by_role("button", name="Yes, remove it"))
        page.keyboard.press("Enter")
        expect(page.get_by_text("The training is no longer required.")).to_be_visible()
        expect(page.get_by_text("Nothing is required yet.")).to_be_visible()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_revoking_a_certificate_asks_first(
    browser: Browser, sample_server: LiveServer, js: bool
) -> None:
    learner_context = new_context(browser, sample_server)
    admin_context = new_context(browser, sample_server, bypass_csp=True, java_script_enabled=js)
    try:
        sign_up_quickly(learner_context, sample_server, name="Rae Revoked")
        learner = learner_context.new_page()
        finish_alpha(learner, sample_server)
        learner.goto("/certificates")
        code = learner.get_by_role("link", name=re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){6}"))
        code_text = code.first.inner_text().split()[0]
        admin = admin_context.new_page()
        sign_in(admin, make_admin(sample_server))
        admin.goto(f"/admin/certificates/{code_text}")
        tab_to(admin, admin.get_by_label("Reason for revoking"))
        admin.keyboard.type("Issued in error")
        admin.keyboard.press("Enter")
        expect(admin.get_by_role("heading", level=1)).to_have_text(
            "Are you sure you want to revoke Rae Revoked’s certificate?"
        )
        expect(admin.locator("#revoke-reason")).to_have_text("Issued in error")
        if js:
            no_violations(admin, "revoke a certificate?")
        tab_to(admin, admin.get_by_role("link", name="No, keep it valid"))
        admin.keyboard.press("Enter")
        expect(admin.get_by_role("heading", level=1)).to_have_text("Rae Revoked")
        expect(admin.get_by_text("Valid", exact=True)).to_be_visible()
        admin.get_by_label("Reason for revoking").fill("Issued in error")
        admin.get_by_role("button", name="Revoke this certificate").click()
        tab_to(admin, admin.get_by_role("button", name="Yes, revoke this certificate"))
        admin.keyboard.press("Enter")
        expect(admin.get_by_text("The certificate is revoked.")).to_be_visible()
    finally:
        learner_context.close()
        admin_context.close()
