"""The team view in a real browser: filtering updates the matrix in place with JavaScript and
by plain page loads without it; every manager page passes axe-core."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from elearn.models import (
    Assignment,
    ModuleCompletion,
    Organisation,
    Team,
    TeamManager,
    User,
    utcnow,
)
from elearn.services.passwords import hash_password
from tests.browser.conftest import LiveServer, describe_violations, new_context, run_axe
from tests.conftest import PASSWORD


@pytest.fixture(scope="module")
def manager_email(sample_server: LiveServer) -> str:
    """A manager of a new team with four people, two of them done, and a module required."""
    email = f"manager-{uuid.uuid4().hex[:8]}@example.org"
    with Session(sample_server.engine) as db:
        org = db.get(Organisation, sample_server.organisation_id)
        assert org is not None
        team = Team(organisation_id=org.id or 0, name="Browser team")
        db.add(team)
        db.commit()
        db.refresh(team)
        manager = User(
            email=email,
            name="Mo Manager",
            password_hash=hash_password(PASSWORD),
            role="manager",
            partnership_id=org.partnership_id,
        )
        db.add(manager)
        db.commit()
        db.refresh(manager)
        db.add(TeamManager(team_id=team.id or 0, user_id=manager.id or 0))
        db.add(
            Assignment(
                partnership_id=org.partnership_id,
                course_id="sample",
                module_id="shared-basics",
                team_id=team.id,
                due_on=utcnow().date() + timedelta(days=5),
            )
        )
        for name, done in (
            ("Ann Done", True),
            ("Ben Due", False),
            ("Cal Due", False),
            ("Dee Done", True),
        ):
            person = User(
                email=f"{uuid.uuid4().hex[:8]}@example.org",
                name=name,
                password_hash="x",
                partnership_id=org.partnership_id,
                organisation_id=org.id,
                team_id=team.id,
            )
            db.add(person)
            db.commit()
            db.refresh(person)
            if done:
                db.add(
                    ModuleCompletion(
                        user_id=person.id or 0,
                        course_id="sample",
                        module_id="shared-basics",
                        module_version=1,
                        content_hash="x" * 64,
                    )
                )
        db.commit()
    return email


def _signed_in(
    browser: Browser, server: LiveServer, email: str, **options: object
) -> Iterator[Page]:
    context = new_context(browser, server, bypass_csp=True, **options)
    page = context.new_page()
    page.goto("/account/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/learning$"))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def manager(browser: Browser, sample_server: LiveServer, manager_email: str) -> Iterator[Page]:
    yield from _signed_in(browser, sample_server, manager_email)


@pytest.fixture
def manager_without_js(
    browser: Browser, sample_server: LiveServer, manager_email: str
) -> Iterator[Page]:
    yield from _signed_in(browser, sample_server, manager_email, java_script_enabled=False)


def names(page: Page) -> list[str]:
    return page.locator("table.app-matrix tbody th a").all_inner_texts()


def no_violations(page: Page, what: str) -> None:
    page.wait_for_load_state()
    violations = run_axe(page)
    assert not violations, f"axe on {what} ({page.url}):\n" + describe_violations(violations)


def test_filtering_updates_the_matrix_in_place(manager: Page) -> None:
    manager.get_by_role("link", name="Team training").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Team training")
    expect(manager.locator("table.app-matrix tbody tr")).to_have_count(4)
    no_violations(manager, "the team view")
    manager.evaluate("window.__same_page = true")
    manager.get_by_label("Status").select_option(label="Due soon")
    expect(manager.locator("table.app-matrix tbody tr")).to_have_count(2)
    assert names(manager) == ["Ben Due", "Cal Due"]
    assert manager.evaluate("window.__same_page === true"), "the page was reloaded"
    expect(manager).to_have_url(re.compile(r"status=due_soon"))
    no_violations(manager, "the team view, filtered")
    manager.get_by_role("link", name="Ben Due").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Ben Due")
    no_violations(manager, "a person's page")


def test_filtering_works_without_javascript(manager_without_js: Page) -> None:
    page = manager_without_js
    page.goto("/manage")
    page.get_by_label("Status").select_option(label="Completed")
    page.get_by_label("Name or email").fill("ann")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status=completed.*q=ann|q=ann.*status=completed"))
    assert names(page) == ["Ann Done"]
    page.get_by_role("link", name="Team", exact=True).click()  # sorting is a plain link too
    expect(page).to_have_url(re.compile(r"sort=team"))
    assert names(page) == ["Ann Done"]


def test_required_training_pages_pass_axe(manager: Page) -> None:
    manager.goto("/manage/assignments")
    no_violations(manager, "required training")
    manager.get_by_role("button", name="Require this training").click()
    expect(manager.get_by_text("There is a problem")).to_be_visible()
    no_violations(manager, "required training, with errors")


def test_an_admin_creates_and_revokes_an_api_token(
    browser: Browser, sample_server: LiveServer
) -> None:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    with Session(sample_server.engine) as db:
        db.add(
            User(
                email=email,
                name="Ada Admin",
                password_hash=hash_password(PASSWORD),
                role="admin",
                partnership_id="nottinghamshire",
            )
        )
        db.commit()
    for page in _signed_in(browser, sample_server, email):
        page.get_by_role("link", name="API tokens").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Reporting API tokens")
        no_violations(page, "API tokens")
        page.get_by_role("button", name="Create token").click()
        expect(page.get_by_text("There is a problem")).to_be_visible()
        no_violations(page, "API tokens, with an error")
        page.get_by_label("Name").fill("County data team")
        page.get_by_role("button", name="Create token").click()
        token = page.get_by_label("Your new token").input_value()
        assert len(token) >= 32
        no_violations(page, "API tokens, new token shown")
        api = page.request.get("/api/v1/people", headers={"Authorization": f"Bearer {token}"})
        assert api.status == 200
        page.get_by_role("button", name="Revoke County data team").click()
        expect(page.get_by_text("Revoked", exact=True)).to_be_visible()
        gone = page.request.get("/api/v1/people", headers={"Authorization": f"Bearer {token}"})
        assert gone.status == 401
