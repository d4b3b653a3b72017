"""Certificates in a real browser: a learner finds theirs, anyone checks it, an admin
re-issues one after a name correction and revokes another, and the check page shows each
state. Every page met on the way is scanned with axe-core."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, select

from elearn.models import Team, TeamManager, User
from elearn.services.passwords import hash_password
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
)
from tests.conftest import PASSWORD

TRACK = "/courses/sample/alpha"


def no_violations(page: Page, what: str) -> None:
    page.wait_for_load_state()
    violations = run_axe(page)
    assert not violations, f"axe on {what} ({page.url}):\n" + describe_violations(violations)


def finish_alpha(page: Page, server: LiveServer) -> None:
    """Enrol, read the lessons and pass the quiz of the sample alpha track, in the browser."""
    form_post(page.context, f"{TRACK}/enrol")
    page.goto(f"{TRACK}/shared-basics/lessons/first?note=seen")
    page.goto(f"{TRACK}/shared-basics/lessons/think")
    page.goto(f"{TRACK}/shared-basics/quiz")
    page.get_by_role("button", name="Start the quiz").click()
    questions = quiz_questions(server, "sample", "shared-basics")
    for qid in asked_question_ids(page):
        for key in right_values(questions[qid]):
            choice(page, questions[qid], key).check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("You scored 100%")).to_be_visible()
    page.goto(f"{TRACK}/alpha-only/lessons/only?note=seen")


def make_admin(server: LiveServer) -> str:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    with Session(server.engine) as db:
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
    return email


@dataclass
class People:
    learner: BrowserContext
    admin: BrowserContext
    visitor: BrowserContext


@pytest.fixture
def people(browser: Browser, sample_server: LiveServer) -> Iterator[People]:
    """Contexts with Content Security Policy bypassed only so that axe-core can be injected."""
    contexts = [new_context(browser, sample_server, bypass_csp=True) for _ in range(3)]
    try:
        yield People(*contexts)
    finally:
        for context in contexts:
            context.close()


def sign_in(page: Page, email: str) -> None:
    page.goto("/account/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/learning$"))


def test_a_certificate_is_found_checked_reissued_and_revoked(
    people: People, sample_server: LiveServer
) -> None:
    sign_up_quickly(people.learner, sample_server, name="Sam Lerner")
    learner = people.learner.new_page()
    finish_alpha(learner, sample_server)

    # The learner finds it under My certificates, and its check page says it is valid.
    learner.get_by_role("link", name="My certificates").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("My certificates")
    no_violations(learner, "My certificates")
    row = learner.get_by_role("row").filter(has_text="Alpha sector")
    expect(row.get_by_text("Valid")).to_be_visible()
    code_link = row.get_by_role("link", name=re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){6}"))
    first_code = code_link.inner_text().split()[0]
    with learner.expect_download() as download:
        row.get_by_role("link", name=re.compile("Download PDF")).click()
    assert download.value.suggested_filename.endswith(f"{first_code}.pdf")

    # Anyone can check it by typing the code loosely.
    visitor = people.visitor.new_page()
    visitor.goto("/verify")
    no_violations(visitor, "the check form")
    visitor.get_by_label("Certificate code").fill(first_code.lower().replace("-", " "))
    visitor.get_by_role("button", name="Check certificate").click()
    expect(visitor).to_have_url(re.compile(rf"/verify/{first_code}$"))
    expect(visitor.get_by_role("heading", level=1)).to_have_text("This certificate is valid")
    expect(visitor.get_by_text("Sam Lerner")).to_be_visible()
    no_violations(visitor, "a valid certificate")

    # An admin corrects the name: a new certificate; the old one now says it was replaced.
    admin_email = make_admin(sample_server)
    admin = people.admin.new_page()
    sign_in(admin, admin_email)
    admin.get_by_role("link", name="Find a certificate").click()
    admin.get_by_label("Code or name").fill("Lerner")
    admin.get_by_role("button", name="Search").click()
    no_violations(admin, "certificate search results")
    admin.get_by_role("link", name="Sam Lerner").click()
    no_violations(admin, "an admin's certificate page")
    admin.get_by_label("Name as it should appear").fill("Sam Learner")
    admin.get_by_role("button", name="Re-issue with this name").click()
    expect(admin.get_by_text("The new certificate is issued.")).to_be_visible()
    new_code = admin.url.rsplit("/", 1)[1].split("?")[0]
    assert new_code != first_code

    visitor.reload()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(
        "This certificate has been replaced"
    )
    no_violations(visitor, "a replaced certificate")
    visitor.get_by_role("link", name=new_code).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("This certificate is valid")
    expect(visitor.get_by_text("Sam Learner", exact=True)).to_be_visible()

    # Revoking the new one: the reason and date appear to anyone who checks it.
    admin.get_by_label("Reason for revoking").fill("Issued in error")
    admin.get_by_role("button", name="Revoke this certificate").click()
    admin.get_by_role("button", name="Yes, revoke this certificate").click()
    expect(admin.get_by_text("The certificate is revoked.")).to_be_visible()
    visitor.reload()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(
        "This certificate has been revoked"
    )
    expect(visitor.get_by_text("Reason: Issued in error")).to_be_visible()
    no_violations(visitor, "a revoked certificate")

    # The learner sees both, each with its status.
    learner.goto("/certificates")
    expect(learner.get_by_text("Replaced", exact=True)).to_be_visible()
    expect(learner.get_by_text("Revoked", exact=True)).to_be_visible()


def test_an_unknown_code_gets_a_calm_not_found_page(people: People) -> None:
    page = people.visitor.new_page()
    page.goto("/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate not found")
    no_violations(page, "certificate not found")
    page.goto("/verify?code=12")
    expect(page.get_by_text("There is a problem")).to_be_visible()
    no_violations(page, "the check form with an error")


def test_a_manager_sees_their_teams_certificates_and_can_filter_them(
    people: People, sample_server: LiveServer
) -> None:
    email = f"manager-{uuid.uuid4().hex[:8]}@example.org"
    with Session(sample_server.engine) as db:
        team = db.exec(
            select(Team).where(Team.organisation_id == sample_server.organisation_id)
        ).first()
        assert team is not None and team.id is not None
        manager = User(
            email=email,
            name="Mo Manager",
            password_hash=hash_password(PASSWORD),
            role="manager",
            partnership_id="nottinghamshire",
        )
        db.add(manager)
        db.commit()
        db.refresh(manager)
        db.add(TeamManager(team_id=team.id, user_id=manager.id or 0))
        db.commit()
        team_name = team.name
    page = people.admin.new_page()
    sign_in(page, email)
    page.goto("/manage/certificates")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificates of your teams")
    no_violations(page, "team certificates")
    page.get_by_label("Team").select_option(label=team_name)
    page.get_by_role("button", name="Show certificates").click()
    expect(page).to_have_url(re.compile(r"team=\d+"))
    no_violations(page, "team certificates, filtered")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these certificates as a ZIP").click()
    assert download.value.suggested_filename == "certificates.zip"
