"""Inviting people over HTTP: only to teams within the inviter's reach, one by one or from a
CSV file that is invited in full or not at all, through a real SMTP server; links work once."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from elearn.models import Invitation, Organisation, Team, TeamManager, User, utcnow
from elearn.services.tokens import token_hash
from tests.conftest import PASSWORD, MakeClient, post
from tests.services.conftest import SmtpSink, free_port, use_quick_hashing
from tests.web.test_accounts import field_error, input_value
from tests.web.test_certificates import person, stranger, text_of

PAGE = "/manage/invitations"
CSV = "/manage/invitations/csv"


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@dataclass
class World:
    """The app with its mail going to `smtp`, and three demo teams: A and B in the same
    Nottinghamshire school, C in Leicestershire."""

    client: TestClient
    smtp: SmtpSink
    a: Team
    b: Team
    c: Team

    def db(self) -> Session:
        return Session(self.client.app.state.engine)  # type: ignore[attr-defined]

    def invitations(self) -> list[Invitation]:
        with self.db() as db:
            return list(db.exec(select(Invitation).order_by(col(Invitation.id))).all())

    def manager_of_a(self) -> TestClient:
        return person(self.client, role="manager", manages=self.a.id)


@pytest.fixture
def world(make_client: MakeClient, smtp: SmtpSink) -> World:
    client = make_client(**smtp.settings(), base_url="https://learn.example")
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]

        def team(name: str) -> Team:
            found = db.exec(select(Team).where(Team.name == name)).one()
            db.expunge(found)
            return found

        return World(
            client,
            smtp,
            team("Year 7 pastoral team"),
            team("Inclusion team"),
            team("Neighbourhood team"),
        )


def one(browser: TestClient, team: Team | int | str, email: str, **fields: str) -> Any:
    """Send the invite-one-person form."""
    team_id = str(team.id if isinstance(team, Team) else team)
    return post(browser, PAGE, {"name": "", "email": email, "team": team_id, **fields})


def upload(
    browser: TestClient, team: Team | str, content: bytes | str, file_name: str = "people.csv"
) -> Any:
    """Send the CSV form with a file, as a browser does (multipart)."""
    data = content.encode() if isinstance(content, str) else content
    team_id = str(team.id) if isinstance(team, Team) else team
    return post(browser, CSV, {"team": team_id}, files={"file": (file_name, data, "text/csv")})


def report_lines(page: str) -> dict[int, str]:
    """The report's rows to correct: line number -> the problem text."""
    table = page.split("Rows to correct", 1)[1].split("</table>", 1)[0]
    found = re.findall(r'<tr class="govuk-table__row" id="line-(\d+)">(.*?)</tr>', table, re.S)
    return {int(line): text_of(html.unescape(cells)) for line, cells in found}


def ready_lines(page: str) -> list[int]:
    """The line numbers of the rows the report says are ready."""
    if "Rows that are ready" not in page:
        return []
    table = page.split("Rows that are ready", 1)[1].split("</table>", 1)[0]
    return [int(n) for n in re.findall(r"cell--numeric\">(\d+)</td>", table)]


def resend(browser: TestClient, invitation: Invitation | int | str) -> Any:
    """Press an invitation's Re-send button."""
    invitation_id = invitation.id if isinstance(invitation, Invitation) else invitation
    return post(browser, f"/manage/invitations/{invitation_id}/resend")


def invitation_of(world: World, email: str) -> Invitation:
    """The one invitation to this email address."""
    with world.db() as db:
        return db.exec(select(Invitation).where(Invitation.email == email)).one()


def expire(world: World, email: str) -> None:
    """Move an invitation's expiry into the past."""
    with world.db() as db:
        invitation = db.exec(select(Invitation).where(Invitation.email == email)).one()
        invitation.expires_at = utcnow() - timedelta(days=1)
        db.add(invitation)
        db.commit()


def accept(world: World, token: str, name: str = "Jo Newcomer") -> Any:
    """Open an invitation link in a new browser and create the account."""
    newcomer = stranger(world.client)
    newcomer.get(f"/invitations/{token}")
    return post(newcomer, f"/invitations/{token}", {"name": name, "password": PASSWORD})


def recent_row(page: str, email: str) -> str:
    """The text of the recent invitations row for this email address."""
    table = page.split("Recent invitations", 1)[1].split("</table>", 1)[0]
    [row] = [r for r in re.findall(r"<tr .*?</tr>", table, re.S) if email in r]
    return row


def make_user(world: World, email: str) -> None:
    with world.db() as db:
        db.add(
            User(
                email=email,
                name="Already Here",
                password_hash="x",
                partnership_id="nottinghamshire",
            )
        )
        db.commit()


# Who may invite, to which teams -----------------------------------------------------------


def test_people_who_manage_nobody_get_not_found_and_strangers_are_asked_to_sign_in(
    world: World,
) -> None:
    visitor = stranger(world.client)
    response = visitor.get(PAGE, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/sign-in")
    for role in ("learner", "author"):
        browser = person(world.client, role=role, team_id=world.a.id)
        assert browser.get(PAGE).status_code == 404
        assert one(browser, world.a, "jo@example.org").status_code == 404
        assert upload(browser, world.a, "name,email\nJo,jo@example.org\n").status_code == 404
    assert world.invitations() == []
    assert world.smtp.messages == []


def test_a_manager_invites_only_to_the_teams_they_manage(world: World) -> None:
    manager = world.manager_of_a()
    page = manager.get(PAGE)
    assert page.status_code == 200
    assert f'<option value="{world.a.id}"' in page.text
    assert f'<option value="{world.b.id}"' not in page.text
    assert f'<option value="{world.c.id}"' not in page.text
    # Another team of the same school, a team of the other partnership, or nonsense: 404.
    for team in (world.b, world.c, "999999", "not-a-number"):
        assert one(manager, team, "jo@example.org").status_code == 404
        assert upload(manager, team, "name,email\nJo,jo@example.org\n").status_code == 404
    # A manager invites learners only: asking for a manager is refused too.
    assert one(manager, world.a, "jo@example.org", role="manager").status_code == 404
    assert one(manager, world.a, "jo@example.org", role="admin").status_code == 404
    assert world.invitations() == []
    assert world.smtp.messages == []


def test_an_admin_invites_to_any_team_of_their_partnership_and_no_other(world: World) -> None:
    admin = person(world.client, role="admin")
    page = admin.get(PAGE).text
    assert f'<option value="{world.a.id}"' in page and f'<option value="{world.b.id}"' in page
    assert f'<option value="{world.c.id}"' not in page
    assert one(admin, world.c, "jo@example.org").status_code == 404
    assert upload(admin, world.c, "name,email\nJo,jo@example.org\n").status_code == 404
    assert world.invitations() == []
    other = person(world.client, role="admin", partnership="leicestershire")
    assert one(other, world.a, "jo@example.org").status_code == 404
    assert one(other, world.c, "jo@example.org").status_code == 200
    # Admins may invite managers.
    assert one(admin, world.b, "mo@example.org", role="manager").status_code == 200
    roles = {(i.email, i.team_id): i.role for i in world.invitations()}
    assert roles == {
        ("jo@example.org", world.c.id): "learner",
        ("mo@example.org", world.b.id): "manager",
    }


def test_a_manager_sees_recent_invitations_to_their_teams_only_and_never_a_token(
    world: World,
) -> None:
    manager = world.manager_of_a()
    admin = person(world.client, role="admin")
    assert one(admin, world.b, "other-team@example.org").status_code == 200
    for email in ("waiting@example.org", "accepted@example.org", "expired@example.org"):
        assert one(manager, world.a, email).status_code == 200
    tokens = {m.rcpt_tos[0]: m.link("/invitations/") for m in world.smtp.messages}
    accepting = stranger(world.client)
    url = f"/invitations/{tokens['accepted@example.org']}"
    accepting.get(url)
    assert post(accepting, url, {"name": "Acey", "password": PASSWORD}).status_code == 303
    with world.db() as db:
        expired = db.exec(select(Invitation).where(Invitation.email == "expired@example.org")).one()
        expired.expires_at = expired.expires_at - timedelta(days=30)
        db.add(expired)
        db.commit()
    page = manager.get(PAGE).text
    table = text_of(page.split("Recent invitations", 1)[1])
    assert "waiting@example.org Year 7 pastoral team Learner" in table
    assert re.search(r"waiting@example\.org .*? Waiting until", table)
    assert re.search(r"accepted@example\.org .*? Accepted", table)
    assert re.search(r"expired@example\.org .*? Expired", table)
    assert "other-team@example.org" not in page
    for token in tokens.values():
        assert token not in page and token_hash(token) not in page
    assert "other-team@example.org" in admin.get(PAGE).text


# One at a time ----------------------------------------------------------------------------


def test_one_invitation_is_emailed_and_its_link_works_once(world: World) -> None:
    manager = world.manager_of_a()
    response = one(manager, world.a, "  Jo.Newcomer@Example.org ", name="Jo Newcomer")
    assert response.status_code == 200
    banner = text_of(response.text.split('govuk-notification-banner__content">', 1)[1])
    assert banner.strip().startswith("Invitation sent to jo.newcomer@example.org")
    assert input_value(response.text, "email") == ""  # ready for the next person
    [invitation] = world.invitations()
    with world.db() as db:
        inviter = db.exec(select(User).where(col(User.email).like("manager-%"))).one()
        org = db.get(Organisation, world.a.organisation_id)
        assert org is not None
    assert (invitation.email, invitation.team_id, invitation.role) == (
        "jo.newcomer@example.org",
        world.a.id,
        "learner",
    )
    assert invitation.organisation_id == world.a.organisation_id
    assert invitation.invited_by_id == inviter.id and invitation.accepted_at is None
    [mail] = world.smtp.to("jo.newcomer@example.org")
    assert org.name in mail.body and "works once" in mail.body
    token = mail.link("/invitations/")
    assert f"https://learn.example/invitations/{token}" in mail.body
    assert token not in response.text

    newcomer = stranger(world.client)
    url = f"/invitations/{token}"
    assert newcomer.get(url).status_code == 200
    accepted = post(newcomer, url, {"name": "Jo Newcomer", "password": PASSWORD})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/learning"
    with world.db() as db:
        user = db.exec(select(User).where(User.email == "jo.newcomer@example.org")).one()
    assert (user.team_id, user.organisation_id, user.role) == (world.a.id, org.id, "learner")
    # The link works once.
    again = stranger(world.client)
    assert again.get(url).status_code == 404
    refused = post(again, url, {"name": "Somebody Else", "password": PASSWORD + " again"})
    assert refused.status_code == 404 and "already been used" in refused.text
    with world.db() as db:
        count = db.exec(select(func.count()).select_from(User).where(User.email == user.email))
        assert count.one() == 1


def test_the_form_explains_each_problem_beside_its_field_and_keeps_what_was_typed(
    world: World,
) -> None:
    manager = world.manager_of_a()
    bad = one(manager, "", "jo@", name="Jo Newcomer")
    assert bad.status_code == 400
    assert "correct format" in (field_error(bad.text, "email") or "")
    assert "Select the team" in (field_error(bad.text, "team") or "")
    assert input_value(bad.text, "name") == "Jo Newcomer"
    assert input_value(bad.text, "email") == "jo@"
    summary = bad.text.split("govuk-error-summary__list", 1)[1].split("</ul>", 1)[0]
    assert 'href="#email"' in summary and 'href="#team"' in summary
    assert "<title>Error: " in bad.text

    missing = one(manager, world.a, "")
    assert field_error(missing.text, "email") == "Enter an email address"
    formula = one(manager, world.a, "jo@example.org", name='=HYPERLINK("http://x")')
    assert "formula" in (field_error(formula.text, "name") or "")

    make_user(world, "here@example.org")
    taken = one(manager, world.a, "Here@Example.org")
    assert taken.status_code == 400
    assert "already has an account" in (field_error(taken.text, "email") or "")

    assert one(manager, world.a, "jo@example.org").status_code == 200
    twice = one(manager, world.a, "jo@example.org")
    assert twice.status_code == 400
    assert "already has an invitation to Year 7 pastoral team waiting" in (
        field_error(twice.text, "email") or ""
    )
    assert [i.email for i in world.invitations()] == ["jo@example.org"]
    assert len(world.smtp.messages) == 1


def test_a_manager_is_not_offered_a_role_but_an_admin_is(world: World) -> None:
    manager_page = world.manager_of_a().get(PAGE).text
    assert 'name="role" type="radio"' not in manager_page
    assert "They join as a learner" in manager_page
    admin_page = person(world.client, role="admin").get(PAGE).text
    assert 'name="role" type="radio" value="manager"' in admin_page
    assert re.search(r'name="role" type="radio" value="learner" checked', admin_page)


# From a CSV file --------------------------------------------------------------------------


def test_a_valid_file_invites_everyone_in_it_and_reports_who(world: World) -> None:
    manager = world.manager_of_a()
    content = (
        "  Email , NAME ,Phone\r\n"
        "ann@example.org,Ann Adams,0115 000\r\n"
        "\r\n"
        ",,\r\n"
        '"BEN@example.org ","Ben, Jr. Brown",\r\n'
        "cal@example.org,,\r\n"
    )
    response = upload(manager, world.a, content)
    assert response.status_code == 200, report_lines(response.text)
    page = text_of(html.unescape(response.text))
    assert "3 people were invited to Year 7 pastoral team" in page
    assert "3 invitations sent" in page
    assert "2 Ann Adams ann@example.org" in page
    assert "5 Ben, Jr. Brown ben@example.org" in page
    assert "6 cal@example.org" in page
    invited = world.invitations()
    assert sorted(i.email for i in invited) == [
        "ann@example.org",
        "ben@example.org",
        "cal@example.org",
    ]
    assert {(i.team_id, i.organisation_id, i.role) for i in invited} == {
        (world.a.id, world.a.organisation_id, "learner")
    }
    assert sorted(a for m in world.smtp.messages for a in m.rcpt_tos) == [
        "ann@example.org",
        "ben@example.org",
        "cal@example.org",
    ]
    # Each emailed link works.
    token = world.smtp.to("ben@example.org")[0].link("/invitations/")
    ben = stranger(world.client)
    ben.get(f"/invitations/{token}")
    assert (
        post(ben, f"/invitations/{token}", {"name": "Ben", "password": PASSWORD}).status_code == 303
    )


def test_a_file_with_any_bad_row_invites_nobody_and_reports_every_problem_by_line(
    world: World,
) -> None:
    manager = world.manager_of_a()
    make_user(world, "here@example.org")
    assert one(manager, world.a, "waiting@example.org").status_code == 200
    assert one(manager, world.a, "other@example.org").status_code == 200
    sent_before = len(world.smtp.messages)
    invitations_before = world.invitations()
    content = "\n".join(
        [
            "name,email",  # 1
            "Ann Adams,ann@example.org",  # 2: fine
            "Bad Email,ann.example.org",  # 3
            "No Email,",  # 4
            "",  # 5: blank, skipped
            "Ann Again,ANN@example.org",  # 6: repeats line 2
            "Here Already,here@example.org",  # 7
            "Waiting,waiting@example.org",  # 8
            "@SUM(A1:A9),sum@example.org",  # 9
            "Cal Clark,cal@example.org",  # 10: fine
        ]
    )
    response = upload(manager, world.a, content)
    assert response.status_code == 400
    problems = report_lines(response.text)
    assert sorted(problems) == [3, 4, 6, 7, 8, 9]
    assert "correct format" in problems[3]
    assert "Enter an email address" in problems[4]
    assert "already on line 2" in problems[6]
    assert "already has an account" in problems[7]
    assert "invitation to Year 7 pastoral team waiting" in problems[8]
    assert "formula" in problems[9]
    assert ready_lines(response.text) == [2, 10]
    summary = response.text.split("govuk-error-summary__list", 1)[1].split("</ul>", 1)[0]
    assert 'href="#line-3"' in summary and "Line 3: " in summary
    page = text_of(response.text)
    assert "Nobody was invited" in page and "6 rows of people.csv need correcting" in page
    # Nothing was created and nobody was emailed.
    assert world.invitations() == invitations_before
    assert len(world.smtp.messages) == sent_before
    # The corrected file can be uploaded from the report itself.
    assert 'action="/manage/invitations/csv"' in response.text
    assert f'<option value="{world.a.id}" selected>' in response.text


def test_a_byte_order_mark_and_excel_encodings_are_read(world: World) -> None:
    manager = world.manager_of_a()
    utf8 = "\ufeffName,Email\r\nZoë Brontë,zoe@example.org\r\n".encode()
    response = upload(manager, world.a, utf8)
    assert response.status_code == 200, report_lines(response.text)
    assert "Zoë Brontë" in html.unescape(response.text)
    # Older Excel saves CSV in Windows-1252, and some locales separate with semicolons.
    cp1252 = "name;email\r\nSeán Ó Briain;sean@example.org\r\n".encode("cp1252")
    response = upload(manager, world.a, cp1252)
    assert response.status_code == 200, report_lines(response.text)
    assert "Seán Ó Briain" in html.unescape(response.text)
    assert sorted(i.email for i in world.invitations()) == ["sean@example.org", "zoe@example.org"]


def test_formula_looking_names_are_refused_and_shown_as_plain_text(world: World) -> None:
    manager = world.manager_of_a()
    names = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(1)", "<b>Jo</b>"]
    content = "name,email\n" + "".join(
        f'"{n.replace(chr(34), chr(34) * 2)}",p{i}@example.org\n' for i, n in enumerate(names)
    )
    response = upload(manager, world.a, content)
    assert response.status_code == 400
    problems = report_lines(response.text)
    assert sorted(problems) == [2, 3, 4, 5]
    assert all("formula" in text for text in problems.values())
    assert ready_lines(response.text) == [6]
    assert "<b>Jo</b>" not in response.text and "&lt;b&gt;Jo&lt;/b&gt;" in response.text
    assert world.invitations() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The selected file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "must be a CSV file"),
        (b"PK\x03\x04\x14\x00\x06\x00", "must be a CSV file"),
        (b"Jo,jo@example.org\nSam,sam@example.org\n", "header row"),
        (b"name,address\nJo,1 High Street\n", "column called email"),
        (b"email,Email\njo@example.org,jo@example.org\n", "each column once"),
        (b"name,email\n", "nobody to invite"),
        (b"name,email\n" + b"x" * 1_000_001, "smaller than 1 MB"),
        (
            b"name,email\n" + b"".join(b"P,p%d@example.org\n" % i for i in range(1001)),
            "more than 1,000 people",
        ),
        (b'name,email\n"Jo,jo@example.org\n\x81', "could not be read"),
    ],
    ids=[
        "empty",
        "image",
        "spreadsheet",
        "no-header",
        "no-email-column",
        "repeated-column",
        "header-only",
        "too-large",
        "too-many-rows",
        "not-text",
    ],
)
def test_files_that_cannot_be_read_get_a_clear_message_beside_the_file_field(
    world: World, content: bytes, message: str
) -> None:
    manager = world.manager_of_a()
    response = upload(manager, world.a, content)
    assert response.status_code == 400
    assert message in html.unescape(field_error(response.text, "csv_file") or "")
    assert 'href="#csv-file"' in response.text
    assert world.invitations() == []
    assert world.smtp.messages == []


def test_exactly_a_thousand_rows_are_accepted(world: World) -> None:
    manager = world.manager_of_a()
    content = b"name,email\n" + b"".join(b"P,p%d@example.org\n" % i for i in range(1000))
    response = upload(manager, world.a, content)
    assert response.status_code == 200
    assert len(world.invitations()) == 1000


def test_the_upload_form_needs_a_team_and_a_file(world: World) -> None:
    manager = world.manager_of_a()
    response = post(
        manager, CSV, {"team": ""}, files={"file": ("", b"", "application/octet-stream")}
    )
    assert response.status_code == 400
    assert field_error(response.text, "csv_file") == "Select a CSV file"
    assert "Select the team" in (field_error(response.text, "csv_team") or "")
    no_part = post(manager, CSV, {"team": str(world.a.id)})
    assert no_part.status_code == 400
    assert field_error(no_part.text, "csv_file") == "Select a CSV file"
    assert world.invitations() == []


def test_when_the_mail_server_is_down_the_inviter_is_told(make_client: MakeClient) -> None:
    client = make_client(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False)
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        team = db.exec(select(Team).where(Team.name == "Year 7 pastoral team")).one()
    manager = person(client, role="manager", manages=team.id)
    response = one(manager, team, "jo@example.org")
    assert response.status_code == 200
    assert "the email could not be sent" in response.text
    report = upload(manager, team, "name,email\nAnn,ann@example.org\n")
    assert report.status_code == 200 and "Email not sent" in report.text


def test_a_failure_part_way_through_a_file_invites_nobody(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from elearn.services import accounts

    real = accounts.add_invitation
    calls = []

    def fails_on_the_third(*args: Any, **kwargs: Any) -> str:
        calls.append(kwargs["email"])
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(accounts, "add_invitation", fails_on_the_third)
    content = "email\nann@example.org\nben@example.org\ncal@example.org\n"
    response = upload(world.manager_of_a(), world.a, content)
    assert response.status_code == 500
    assert world.invitations() == [] and world.smtp.messages == []


def test_an_invited_manager_manages_the_team_they_were_invited_to(world: World) -> None:
    admin = person(world.client, role="admin")
    assert one(admin, world.a, "mo@example.org", role="manager").status_code == 200
    token = world.smtp.to("mo@example.org")[0].link("/invitations/")
    newcomer = stranger(world.client)
    newcomer.get(f"/invitations/{token}")
    accepted = post(newcomer, f"/invitations/{token}", {"name": "Mo Manager", "password": PASSWORD})
    assert accepted.status_code == 303
    assert newcomer.get("/manage/invitations").status_code == 200
    with world.db() as db:
        mo = db.exec(select(User).where(User.email == "mo@example.org")).one()
        assert db.get(TeamManager, (world.a.id, mo.id)) is not None


# Names --------------------------------------------------------------------------------------


def test_the_name_given_is_kept_used_in_the_email_and_offered_when_the_link_is_opened(
    world: World,
) -> None:
    manager = world.manager_of_a()
    assert one(manager, world.a, "jo@example.org", name="  Jo Newcomer ").status_code == 200
    assert one(manager, world.a, "sam@example.org").status_code == 200
    assert invitation_of(world, "jo@example.org").name == "Jo Newcomer"
    assert invitation_of(world, "sam@example.org").name is None
    [jo_mail] = world.smtp.to("jo@example.org")
    [sam_mail] = world.smtp.to("sam@example.org")
    assert jo_mail.body.splitlines()[0] == "Hello Jo Newcomer,"
    assert sam_mail.body.splitlines()[0] == "Hello,"
    page = manager.get(PAGE).text
    assert "Jo Newcomer jo@example.org Year 7 pastoral team" in text_of(recent_row(page, "jo@"))

    token = jo_mail.link("/invitations/")
    opened = stranger(world.client).get(f"/invitations/{token}")
    assert input_value(opened.text, "name") == "Jo Newcomer"
    sam_page = stranger(world.client).get(f"/invitations/{sam_mail.link('/invitations/')}")
    assert input_value(sam_page.text, "name") == ""
    # The invitee may change it.
    assert accept(world, token, name="Joanne Newcomer").status_code == 303
    with world.db() as db:
        user = db.exec(select(User).where(User.email == "jo@example.org")).one()
    assert user.name == "Joanne Newcomer"


def test_names_from_a_file_are_kept_and_offered_when_each_link_is_opened(world: World) -> None:
    manager = world.manager_of_a()
    content = "name,email\nAnn Adams,ann@example.org\n,cal@example.org\n"
    assert upload(manager, world.a, content).status_code == 200
    assert invitation_of(world, "ann@example.org").name == "Ann Adams"
    assert invitation_of(world, "cal@example.org").name is None
    [ann_mail] = world.smtp.to("ann@example.org")
    assert ann_mail.body.splitlines()[0] == "Hello Ann Adams,"
    opened = stranger(world.client).get(f"/invitations/{ann_mail.link('/invitations/')}")
    assert input_value(opened.text, "name") == "Ann Adams"
    page = manager.get(PAGE).text
    assert "Ann Adams ann@example.org" in text_of(recent_row(page, "ann@"))


# Re-sending ---------------------------------------------------------------------------------


def test_re_sending_emails_a_fresh_link_and_the_old_one_stops_working(world: World) -> None:
    manager = world.manager_of_a()
    assert one(manager, world.a, "jo@example.org", name="Jo Newcomer").status_code == 200
    old_token = world.smtp.to("jo@example.org")[0].link("/invitations/")
    before = invitation_of(world, "jo@example.org")
    page = manager.get(PAGE).text
    assert f'action="/manage/invitations/{before.id}/resend"' in recent_row(page, "jo@")

    response = resend(manager, before)
    assert response.status_code == 303
    assert response.headers["location"] == f"/manage/invitations?resent={before.id}"
    shown = manager.get(response.headers["location"])
    banner = text_of(shown.text.split('govuk-notification-banner__content">', 1)[1])
    assert banner.strip().startswith("Invitation re-sent to Jo Newcomer (jo@example.org)")
    assert "The link sent before no longer works" in banner

    first, second = world.smtp.to("jo@example.org")
    new_token = second.link("/invitations/")
    assert new_token != old_token and second.body.splitlines()[0] == "Hello Jo Newcomer,"
    after = invitation_of(world, "jo@example.org")
    assert after.id == before.id and after.token_hash == token_hash(new_token)
    assert after.expires_at >= before.expires_at
    assert len(world.invitations()) == 1
    assert new_token not in shown.text

    assert stranger(world.client).get(f"/invitations/{old_token}").status_code == 404
    assert accept(world, old_token).status_code == 404
    opened = stranger(world.client).get(f"/invitations/{new_token}")
    assert opened.status_code == 200 and input_value(opened.text, "name") == "Jo Newcomer"
    assert accept(world, new_token).status_code == 303


def test_an_expired_invitation_can_be_re_sent_and_works_for_the_usual_days_again(
    world: World,
) -> None:
    manager = world.manager_of_a()
    assert one(manager, world.a, "jo@example.org").status_code == 200
    expire(world, "jo@example.org")
    old_token = world.smtp.to("jo@example.org")[0].link("/invitations/")
    invitation = invitation_of(world, "jo@example.org")
    assert "Expired" in recent_row(manager.get(PAGE).text, "jo@")
    assert "Re-send" in recent_row(manager.get(PAGE).text, "jo@")

    assert resend(manager, invitation).status_code == 303
    renewed = invitation_of(world, "jo@example.org")
    days = world.client.app.state.settings.invitation_days  # type: ignore[attr-defined]
    left = renewed.expires_at.replace(tzinfo=renewed.expires_at.tzinfo or UTC) - utcnow()
    assert timedelta(days=days) - timedelta(minutes=5) < left <= timedelta(days=days)
    assert re.search(r"Waiting\s*</strong>", recent_row(manager.get(PAGE).text, "jo@"))
    new_token = world.smtp.to("jo@example.org")[1].link("/invitations/")
    assert accept(world, old_token).status_code == 404
    assert accept(world, new_token).status_code == 303


def test_an_accepted_invitation_is_not_re_sent(world: World) -> None:
    manager = world.manager_of_a()
    assert one(manager, world.a, "jo@example.org").status_code == 200
    token = world.smtp.to("jo@example.org")[0].link("/invitations/")
    assert accept(world, token).status_code == 303
    accepted = invitation_of(world, "jo@example.org")
    page = manager.get(PAGE).text
    assert "Re-send" not in recent_row(page, "jo@") and "/resend" not in recent_row(page, "jo@")

    refused = resend(manager, accepted)
    assert refused.status_code == 409
    summary = refused.text.split("govuk-error-summary__list", 1)[1].split("</ul>", 1)[0]
    assert "jo@example.org accepted their invitation on" in summary
    assert "nothing to re-send" in summary and 'href="#recent"' in summary
    assert "<title>Error: " in refused.text
    assert world.invitations() == [accepted]
    assert len(world.smtp.messages) == 1


def test_an_invitation_replaced_by_a_newer_one_is_not_re_sent(world: World) -> None:
    manager = world.manager_of_a()
    assert one(manager, world.a, "jo@example.org").status_code == 200
    expire(world, "jo@example.org")
    assert one(manager, world.a, "jo@example.org").status_code == 200
    old, new = world.invitations()
    refused = resend(manager, old)
    assert refused.status_code == 409
    assert "has another invitation to Year 7 pastoral team waiting" in html.unescape(refused.text)
    assert world.invitations() == [old, new]
    assert len(world.smtp.messages) == 2
    assert resend(manager, new).status_code == 303


def test_only_the_teams_manager_or_the_partnerships_admin_may_re_send(world: World) -> None:
    admin = person(world.client, role="admin")
    assert one(admin, world.a, "jo@example.org").status_code == 200
    invitation = invitation_of(world, "jo@example.org")
    before = world.invitations()
    outsiders = [
        person(world.client, role="manager", manages=world.b.id),
        person(world.client, role="manager", manages=world.c.id),
        person(world.client, role="admin", partnership="leicestershire"),
        person(world.client, role="learner", team_id=world.a.id),
        person(world.client, role="author"),
    ]
    for browser in outsiders:
        assert resend(browser, invitation).status_code == 404
    manager = world.manager_of_a()
    for missing in ("999999", "0", "-1", str(2**63)):
        assert resend(manager, missing).status_code == 404, missing
    visitor = stranger(world.client)
    signed_out = resend(visitor, invitation)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/account/sign-in")
    assert world.invitations() == before and len(world.smtp.messages) == 1
    # A banner is shown only for an invitation within reach.
    outsider_page = outsiders[0].get(f"{PAGE}?resent={invitation.id}").text
    assert "jo@example.org" not in outsider_page

    assert resend(manager, invitation).status_code == 303
    assert resend(admin, invitation).status_code == 303
    assert len(world.smtp.to("jo@example.org")) == 3


def test_when_the_mail_server_is_down_a_re_send_says_so(make_client: MakeClient) -> None:
    client = make_client(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False)
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        team = db.exec(select(Team).where(Team.name == "Year 7 pastoral team")).one()
    manager = person(client, role="manager", manages=team.id)
    assert one(manager, team, "jo@example.org").status_code == 200
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        invitation = db.exec(select(Invitation)).one()
    response = resend(manager, invitation)
    assert response.status_code == 303 and response.headers["location"].endswith("&emailed=no")
    page = manager.get(response.headers["location"]).text
    assert "has a new link, but the email could not be sent" in page


def test_the_email_says_who_invites_and_what_the_team_must_complete_by_when(
    world: World,
) -> None:
    manager = world.manager_of_a()
    admin = person(world.client, role="admin")
    year = utcnow().year + 1

    def require(browser: TestClient, item: str, **fields: str) -> None:
        browser.get("/manage/assignments")
        form = {"item": item, "due-day": "31", "due-month": "3", "due-year": str(year)}
        assert post(browser, "/manage/assignments", {**form, **fields}).status_code == 303

    require(manager, "track:sample:alpha", team=str(world.a.id), recertify_months="12")
    require(admin, "module:sample:shared-basics", scope_kind="sector", sector="education")
    require(admin, "track:sample:beta", team=str(world.b.id))  # another team's: not mentioned
    assert one(manager, world.a, "jo@example.org", name="Jo Newcomer").status_code == 200
    [mail] = world.smtp.to("jo@example.org")
    body = mail.body.replace("\r\n", "\n")
    assert mail.message["subject"] == "A manager invited you to trauma-informed practice learning"
    assert body.splitlines()[0] == "Hello Jo Newcomer,"
    assert (
        "A manager (Nottingham and Nottinghamshire Violence Reduction Partnership) "
        "has invited you to join Year 7 pastoral team at Riverside Academy" in body
    )
    assert "Training required of Year 7 pastoral team:" in body
    assert (
        f"- Alpha sector (track): complete by 31 March {year}, then again every 12 months" in body
    )
    assert "https://learn.example/courses/sample/alpha\n" in body
    assert f"- Shared basics (module): complete by 31 March {year}\n" in body
    assert "https://learn.example/courses/sample/alpha/shared-basics" in body
    assert "Beta sector" not in body
    assert mail.link("/invitations/") in body
    # A partnership admin's invitation, and a re-sent one, say so too.
    assert one(admin, world.b, "kim@example.org").status_code == 200
    [kim] = world.smtp.to("kim@example.org")
    assert "A admin (partnership admin, Nottingham and Nottinghamshire" in kim.body
    assert "Beta sector (track)" in kim.body and "Alpha sector" not in kim.body
    assert resend(manager, invitation_of(world, "jo@example.org")).status_code == 303
    again = world.smtp.to("jo@example.org")[-1]
    assert "Alpha sector (track): complete by" in again.body


def test_a_team_with_nothing_required_is_told_so(world: World) -> None:
    assert one(world.manager_of_a(), world.a, "jo@example.org").status_code == 200
    [mail] = world.smtp.to("jo@example.org")
    assert "No training is required of this team yet." in mail.body
