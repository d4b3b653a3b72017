"""Inviting people over HTTP: only to teams within the inviter's reach, one by one or from a
CSV file that is invited in full or not at all, through a real SMTP server; links work once."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from elearn.models import Invitation, Organisation, Team, TeamManager, User
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
