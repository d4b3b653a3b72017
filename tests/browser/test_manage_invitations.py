"""Inviting people in a real browser: a manager uploads a CSV file with one bad row, reads the
report, uploads the corrected file from the report itself, and every page passes axe-core."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect
from sqlmodel import Session, select

from elearn.models import Invitation, Organisation, Team, TeamManager, User
from elearn.services.passwords import hash_password
from tests.browser.conftest import LiveServer, describe_violations, new_context, run_axe
from tests.conftest import PASSWORD


def no_violations(page: Page, what: str) -> None:
    page.wait_for_load_state()
    violations = run_axe(page)
    assert not violations, f"axe on {what} ({page.url}):\n" + describe_violations(violations)


@pytest.fixture
def team_and_manager(sample_server: LiveServer) -> tuple[int, str]:
    """A new team in the demo school and the email of its new manager."""
    email = f"manager-{uuid.uuid4().hex[:8]}@example.org"
    with Session(sample_server.engine) as db:
        org = db.get(Organisation, sample_server.organisation_id)
        assert org is not None
        team = Team(organisation_id=org.id or 0, name=f"Invite team {uuid.uuid4().hex[:4]}")
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
        return team.id or 0, email


@pytest.fixture
def manager(
    browser: Browser, sample_server: LiveServer, team_and_manager: tuple[int, str]
) -> Iterator[Page]:
    """The manager, signed in (Content Security Policy bypassed only to inject axe-core)."""
    context = new_context(browser, sample_server, bypass_csp=True)
    page = context.new_page()
    page.goto("/account/sign-in")
    page.get_by_label("Email address").fill(team_and_manager[1])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/learning$"))
    try:
        yield page
    finally:
        context.close()


def choose_file(page: Page, content: str) -> None:
    file: FilePayload = {"name": "people.csv", "mimeType": "text/csv", "buffer": content.encode()}
    page.get_by_label("CSV file").set_input_files(files=[file])


def test_a_manager_uploads_a_file_with_a_bad_row_and_then_the_corrected_one(
    manager: Page, sample_server: LiveServer, team_and_manager: tuple[int, str]
) -> None:
    team_id, _ = team_and_manager
    tag = uuid.uuid4().hex[:6]
    good = [f"ann-{tag}@example.org", f"cal-{tag}@example.org"]
    manager.goto("/manage/invitations")
    expect(manager.get_by_role("heading", level=1)).to_have_text("Invite people")
    no_violations(manager, "the invitations page")

    manager.get_by_label("Team for everyone in the file").select_option(str(team_id))
    choose_file(
        manager,
        f"name,email\nAnn Adams,{good[0]}\nBen Brown,ben.example.org\nCal Clark,{good[1]}\n",
    )
    manager.get_by_role("button", name="Upload and check").click()

    expect(manager.get_by_role("heading", level=1)).to_have_text("Nobody was invited")
    summary = manager.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(re.compile(r"^Line 3: Enter an email"))
    to_correct = manager.get_by_role("table", name="Rows to correct")
    expect(to_correct.get_by_role("row").filter(has_text="ben.example.org")).to_contain_text("3")
    ready = manager.get_by_role("table", name=re.compile("Rows that are ready"))
    expect(ready).to_contain_text(good[0])
    expect(ready).to_contain_text(good[1])
    no_violations(manager, "the report of a file with a problem")
    with Session(sample_server.engine) as db:
        assert db.exec(select(Invitation).where(Invitation.team_id == team_id)).all() == []

    # The corrected file, from the report page, by keyboard: the team is already chosen.
    expect(manager.get_by_label("Team for everyone in the file")).to_have_value(str(team_id))
    choose_file(
        manager,
        f"name,email\nAnn Adams,{good[0]}\nBen Brown,ben-{tag}@example.org\nCal Clark,{good[1]}\n",
    )
    manager.get_by_role("button", name="Upload and check").focus()
    manager.keyboard.press("Enter")
    expect(manager.get_by_role("heading", level=1)).to_have_text("3 invitations sent")
    expect(manager.get_by_role("table", name="Who was invited")).to_contain_text(
        f"ben-{tag}@example.org"
    )
    no_violations(manager, "the report of a file invited in full")
    with Session(sample_server.engine) as db:
        invited = db.exec(select(Invitation).where(Invitation.team_id == team_id)).all()
    assert len(invited) == 3

    manager.get_by_role("link", name="Back to invitations").click()
    recent = manager.get_by_role("table", name=re.compile("invitations to your teams"))
    expect(recent.get_by_role("row").filter(has_text=good[0])).to_contain_text("Waiting")
    no_violations(manager, "the invitations page with recent invitations")


def test_the_invite_form_with_errors_passes_axe(manager: Page) -> None:
    manager.goto("/manage/invitations")
    manager.get_by_label("Email address").fill("not an email")
    manager.get_by_role("button", name="Send invitation").click()
    expect(manager.get_by_text("There is a problem")).to_be_visible()
    expect(manager.get_by_label("Email address")).to_have_value("not an email")
    no_violations(manager, "the invitations page with errors")


def test_a_manager_invites_someone_by_name_and_re_sends_the_invitation(
    manager: Page, sample_server: LiveServer, team_and_manager: tuple[int, str]
) -> None:
    team_id, _ = team_and_manager
    email = f"jo-{uuid.uuid4().hex[:6]}@example.org"
    manager.goto("/manage/invitations")
    manager.get_by_label("Name (optional)").fill("Jo Newcomer")
    manager.get_by_label("Email address").fill(email)
    manager.get_by_label("Team", exact=True).select_option(str(team_id))
    manager.get_by_role("button", name="Send invitation").click()
    recent = manager.get_by_role("table", name=re.compile("invitations? to your teams"))
    row = recent.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Jo Newcomer")
    with Session(sample_server.engine) as db:
        first = db.exec(select(Invitation).where(Invitation.email == email)).one()
    assert first.name == "Jo Newcomer"

    resend = row.get_by_role("button", name=f"Re-send the invitation to {email}")
    resend.focus()
    manager.keyboard.press("Enter")
    expect(manager.get_by_role("alert")).to_contain_text(
        f"Invitation re-sent to Jo Newcomer ({email})"
    )
    no_violations(manager, "the invitations page after a re-send")
    with Session(sample_server.engine) as db:
        renewed = db.exec(select(Invitation).where(Invitation.email == email)).one()
    assert renewed.id == first.id and renewed.token_hash != first.token_hash
