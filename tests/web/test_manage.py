"""Managers: required training, statuses (with recertification edges), the team view with
filters, a person's page, the CSV export, and who may see what."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from elearn.models import (
    Assignment,
    LessonProgress,
    ModuleCompletion,
    Organisation,
    QuizAttempt,
    Team,
    TeamManager,
    User,
    utcnow,
)
from elearn.services.passwords import hash_password
from elearn.services.statuses import add_months, standing
from tests.conftest import PASSWORD, post, sign_in

TODAY = date(2026, 11, 24)


# Statuses -----------------------------------------------------------------------------------


def status(**kwargs: Any) -> str:
    values: dict[str, Any] = {
        "today": TODAY,
        "due_on": TODAY + timedelta(days=60),
        "recertify_months": None,
        "completed_on": None,
        "started": False,
    }
    values.update(kwargs)
    return standing(**values).status


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "not_started"),
        ({"started": True}, "in_progress"),
        ({"due_on": TODAY + timedelta(days=31)}, "not_started"),
        ({"due_on": TODAY + timedelta(days=30)}, "due_soon"),
        ({"due_on": TODAY, "started": True}, "due_soon"),  # due today is not yet overdue
        ({"due_on": TODAY - timedelta(days=1)}, "overdue"),
        ({"due_on": TODAY - timedelta(days=1), "completed_on": TODAY}, "completed"),
        ({"completed_on": date(2020, 1, 1)}, "completed"),  # no recertification: for good
        # Recertification every 12 months: it counts until more than 12 months old.
        ({"completed_on": date(2025, 11, 24), "recertify_months": 12}, "completed"),
        ({"completed_on": date(2025, 11, 23), "recertify_months": 12}, "expired"),
        ({"completed_on": date(2025, 11, 22), "recertify_months": 12}, "expired"),
        ({"completed_on": date(2026, 5, 24), "recertify_months": 6}, "completed"),
        ({"completed_on": date(2026, 5, 23), "recertify_months": 6}, "expired"),
    ],
)
def test_status(kwargs: dict[str, Any], expected: str) -> None:
    assert status(**kwargs) == expected


def test_expiry_is_a_calendar_month_on() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 24), 14) == date(2028, 1, 24)
    done = standing(
        today=TODAY,
        due_on=TODAY,
        recertify_months=12,
        completed_on=date(2026, 1, 10),
        started=True,
    )
    assert done.expires_on == date(2027, 1, 10)


# A small world ------------------------------------------------------------------------------


class World:
    """Two teams in one organisation, a manager of each, people with progress."""

    def __init__(self, client: TestClient, organisations: list[Organisation]) -> None:
        self.client = client
        self.engine = client.app.state.engine  # type: ignore[attr-defined]
        self.org = organisations[0]
        with Session(self.engine) as db:
            teams = [Team(organisation_id=self.org.id or 0, name=n) for n in ("Team A", "Team B")]
            db.add_all(teams)
            db.commit()
            self.team_a, self.team_b = teams[0].id or 0, teams[1].id or 0
        self.manager_a = self.login("manager", manages=self.team_a)
        self.manager_b = self.login("manager", manages=self.team_b)

    def add_person(self, name: str, team_id: int, **facts: Any) -> int:
        with Session(self.engine) as db:
            user = User(
                email=f"{uuid.uuid4().hex[:10]}@example.org",
                name=name,
                password_hash="x",
                partnership_id=self.org.partnership_id,
                organisation_id=self.org.id,
                team_id=team_id,
            )
            db.add(user)
            db.commit()
            db.refresh(user)
            assert user.id is not None
            for module_id, when in facts.get("completed", {}).items():
                db.add(
                    ModuleCompletion(
                        user_id=user.id,
                        course_id="sample",
                        module_id=module_id,
                        module_version=1,
                        content_hash="x" * 64,
                        completed_at=datetime.combine(when, datetime.min.time(), UTC),
                    )
                )
            for module_id in facts.get("started", []):
                db.add(
                    LessonProgress(
                        user_id=user.id, course_id="sample", module_id=module_id, lesson_id="first"
                    )
                )
            for module_id, score in facts.get("scores", {}).items():
                db.add(
                    QuizAttempt(
                        user_id=user.id,
                        course_id="sample",
                        module_id=module_id,
                        module_version=1,
                        content_hash="x" * 64,
                        seed=1,
                        questions="[]",
                        score=score,
                        submitted_at=utcnow(),
                    )
                )
            db.commit()
            return user.id

    def require(self, *, team_id: int | None = None, due_in: int = 10, **kwargs: Any) -> None:
        with Session(self.engine) as db:
            db.add(
                Assignment(
                    partnership_id=self.org.partnership_id,
                    course_id="sample",
                    team_id=team_id,
                    due_on=utcnow().date() + timedelta(days=due_in),
                    **kwargs,
                )
            )
            db.commit()

    def login(
        self, role: str, *, manages: int | None = None, partnership: str | None = None
    ) -> TestClient:
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        with Session(self.engine) as db:
            user = User(
                email=email,
                name=f"A {role}",
                password_hash=hash_password(PASSWORD),
                role=role,
                partnership_id=partnership or self.org.partnership_id,
            )
            db.add(user)
            db.commit()
            db.refresh(user)
            if manages is not None:
                db.add(TeamManager(team_id=manages, user_id=user.id or 0))
                db.commit()
        browser = TestClient(self.client.app, raise_server_exceptions=False)
        assert sign_in(browser, email).status_code == 303
        return browser


@pytest.fixture
def world(client: TestClient, organisations: list[Organisation]) -> World:
    return World(client, organisations)


def people_on(page: str) -> list[str]:
    return re.findall(r'href="/manage/people/\d+">([^<]+)</a>', page)


def cell_statuses(page: str, name: str) -> list[str]:
    row = page.split(f">{name}</a>", 1)[1].split("</tr>", 1)[0]
    return re.findall(r'class="govuk-tag [^"]+">([^<]+)</strong>', row)


# The team view ------------------------------------------------------------------------------


def test_a_manager_sees_their_team_with_each_persons_status(world: World) -> None:
    world.require(team_id=world.team_a, track_id="alpha", due_in=10)
    world.add_person(
        "Ada Done", world.team_a, completed={"shared-basics": TODAY, "alpha-only": TODAY}
    )
    world.add_person("Ben Begun", world.team_a, started=["shared-basics"])
    world.add_person("Cat Other", world.team_b)
    page = world.manager_a.get("/manage")
    assert page.status_code == 200
    assert people_on(page.text) == ["Ada Done", "Ben Begun"]
    assert cell_statuses(page.text, "Ada Done") == ["Completed", "Completed"]
    assert cell_statuses(page.text, "Ben Begun") == ["Due soon", "Due soon"]
    assert "50%</span> of required modules completed" in page.text
    # Manager B sees only their own team: nothing is required of it.
    assert people_on(world.manager_b.get("/manage").text) == []


def test_filters_search_sort_and_unknown_values(world: World) -> None:
    world.require(team_id=world.team_a, module_id="shared-basics", due_in=-3)
    world.require(team_id=world.team_b, module_id="shared-basics", due_in=90)
    world.add_person("Zoe Late", world.team_a)
    world.add_person("Amy Done", world.team_a, completed={"shared-basics": TODAY})
    world.add_person("Bob Fresh", world.team_b)
    admin = world.login("admin")
    everyone = admin.get("/manage").text
    assert people_on(everyone) == ["Amy Done", "Bob Fresh", "Zoe Late"]
    assert people_on(admin.get("/manage", params={"sort": "attention"}).text)[0] == "Zoe Late"
    assert people_on(admin.get("/manage", params={"status": "overdue"}).text) == ["Zoe Late"]
    assert people_on(admin.get("/manage", params={"team": world.team_b}).text) == ["Bob Fresh"]
    assert people_on(admin.get("/manage", params={"q": "amy"}).text) == ["Amy Done"]
    mine = admin.get("/manage", params={"partnership": world.org.partnership_id})
    assert people_on(mine.text) == ["Amy Done", "Bob Fresh", "Zoe Late"]
    other = admin.get("/manage", params={"partnership": "elsewhere"})
    assert "The partnership filter was ignored" in other.text
    odd = admin.get("/manage", params={"team": "99999", "status": "nope", "sort": "x"})
    assert odd.status_code == 200
    assert "The team filter was ignored" in odd.text
    assert "The status filter was ignored" in odd.text
    assert people_on(odd.text) == ["Amy Done", "Bob Fresh", "Zoe Late"]
    # A manager cannot reach another team by editing the URL.
    assert (
        "The team filter was ignored"
        in world.manager_a.get("/manage", params={"team": world.team_b}).text
    )
    assert people_on(world.manager_a.get("/manage", params={"team": world.team_b}).text) == [
        "Amy Done",
        "Zoe Late",
    ]


def test_htmx_gets_just_the_results(world: World) -> None:
    world.require(team_id=world.team_a, module_id="shared-basics")
    world.add_person("Ada One", world.team_a)
    partial = world.manager_a.get("/manage", headers={"HX-Request": "true", "HX-Target": "results"})
    assert partial.text.lstrip().startswith('<div id="results"')
    assert "Ada One" in partial.text and "<html" not in partial.text


def test_pages_of_fifty(world: World) -> None:
    world.require(team_id=world.team_a, module_id="shared-basics")
    for i in range(60):
        world.add_person(f"Person {i:02d}", world.team_a)
    first = world.manager_a.get("/manage").text
    second = world.manager_a.get("/manage", params={"page": 2}).text
    assert len(people_on(first)) == 50 and len(people_on(second)) == 10
    assert set(people_on(first)).isdisjoint(people_on(second))
    assert "60 people, page 1 of 2" in first


def test_the_team_view_makes_the_same_number_of_queries_for_5_or_50_people(world: World) -> None:
    world.require(team_id=world.team_a, track_id="alpha")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    def queries() -> int:
        statements.clear()
        event.listen(world.engine, "before_cursor_execute", count)
        try:
            assert world.manager_a.get("/manage").status_code == 200
        finally:
            event.remove(world.engine, "before_cursor_execute", count)
        return len(statements)

    for i in range(5):
        world.add_person(
            f"Few {i}", world.team_a, started=["shared-basics"], scores={"shared-basics": 40}
        )
    few = queries()
    for i in range(45):
        world.add_person(
            f"Many {i}",
            world.team_a,
            completed={"shared-basics": TODAY},
            scores={"shared-basics": 90},
        )
    assert queries() == few


# A person's page -----------------------------------------------------------------------------


def test_a_persons_page_shows_status_dates_and_best_score_only(world: World) -> None:
    world.require(team_id=world.team_a, module_id="shared-basics", recertify_months=12)
    person = world.add_person(
        "Ada Scored", world.team_a, completed={"shared-basics": TODAY}, scores={"shared-basics": 80}
    )
    page = world.manager_a.get(f"/manage/people/{person}")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Ada Scored" in text and "Completed" in text and "80%" in text
    assert (TODAY.replace(year=2027)).strftime("%-d %B %Y") in text  # expires
    assert world.manager_b.get(f"/manage/people/{person}").status_code == 404
    other_admin = world.login("admin", partnership="leicestershire")
    assert other_admin.get(f"/manage/people/{person}").status_code == 404


# The CSV export ------------------------------------------------------------------------------


def test_the_export_opens_cleanly_in_a_spreadsheet(world: World) -> None:
    world.require(team_id=world.team_a, track_id="alpha", due_in=-1)
    world.add_person('=HYPERLINK("http://evil")', world.team_a)
    world.add_person("Zoë Ünïcode", world.team_a, completed={"shared-basics": TODAY})
    response = world.manager_a.get("/manage/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Name", "Email", "Organisation"]
    body = rows[1:]
    assert len(body) == 4  # two people × two modules of the track
    names = {row[0] for row in body}
    assert "Zoë Ünïcode" in names and '\'=HYPERLINK("http://evil")' in names
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)
    done = next(r for r in body if r[0] == "Zoë Ünïcode" and r[6] == "Completed")
    assert done[8] == TODAY.isoformat() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", done[7])
    only_overdue = world.manager_a.get("/manage/export.csv", params={"status": "overdue"})
    statuses = {r[6] for r in list(csv.reader(io.StringIO(only_overdue.text.lstrip("\ufeff"))))[1:]}
    assert statuses == {"Overdue"}


# Required training ---------------------------------------------------------------------------


def test_a_manager_requires_training_of_their_own_team_only(world: World) -> None:
    manager = world.manager_a
    manager.get("/manage/assignments")
    bad = post(
        manager,
        "/manage/assignments",
        {
            "item": "track:sample:alpha",
            "team": str(world.team_a),
            "due-day": "31",
            "due-month": "02",
            "due-year": "2027",
        },
    )
    assert bad.status_code == 400
    assert "Due date must be a real date" in bad.text
    assert re.search(r'name="due-day"[^>]*value="31"', bad.text)
    good = {"due-day": "31", "due-month": "3", "due-year": str(utcnow().year + 1)}
    done = post(
        manager,
        "/manage/assignments",
        {"item": "track:sample:alpha", "team": str(world.team_a), **good},
    )
    assert done.status_code == 303
    assert "Alpha sector" in manager.get("/manage/assignments").text
    elsewhere = post(
        manager,
        "/manage/assignments",
        {"item": "track:sample:alpha", "team": str(world.team_b), **good},
    )
    assert elsewhere.status_code == 404
    with Session(world.engine) as db:
        assert [a.team_id for a in db.exec(select(Assignment)).all()] == [world.team_a]


# Who may see what ---------------------------------------------------------------------------


def test_every_manager_route_refuses_people_without_the_scope(world: World) -> None:
    person = world.add_person("Ada Private", world.team_a)
    world.require(team_id=world.team_a, module_id="shared-basics")
    with Session(world.engine) as db:
        [required] = db.exec(select(Assignment)).all()
    learner = world.login("learner")
    author = world.login("author")
    anonymous = TestClient(world.client.app, raise_server_exceptions=False)
    routes = [
        "/manage",
        "/manage/export.csv",
        f"/manage/people/{person}",
        "/manage/assignments",
        f"/manage/assignments/{required.id}/edit",
        f"/manage/assignments/{required.id}/delete",
    ]
    for route in routes:
        for who, browser in (("learner", learner), ("author", author)):
            response = browser.get(route)
            assert response.status_code == 404, (route, who)
            assert "Ada Private" not in response.text
        response = anonymous.get(route, follow_redirects=False)
        assert response.status_code == 303, route
        assert response.headers["location"].startswith("/account/sign-in")
    assert world.manager_a.get(f"/manage/people/{person}").status_code == 200
    assert world.manager_b.get(f"/manage/people/{person}").status_code == 404
    assert "Ada Private" not in world.manager_b.get("/manage/export.csv").text


def test_in_progress_and_not_started_are_told_apart_on_the_page_and_in_filters(
    world: World,
) -> None:
    world.require(team_id=world.team_a, module_id="shared-basics", due_in=90)
    world.add_person("Ann Begun", world.team_a, started=["shared-basics"])
    world.add_person("Bob Idle", world.team_a)
    page = world.manager_a.get("/manage").text
    assert cell_statuses(page, "Ann Begun") == ["In progress"]
    assert cell_statuses(page, "Bob Idle") == ["Not started"]
    begun = world.manager_a.get("/manage", params={"status": "in_progress"}).text
    assert people_on(begun) == ["Ann Begun"]
    idle = world.manager_a.get("/manage", params={"status": "not_started"}).text
    assert people_on(idle) == ["Bob Idle"]


def test_the_export_follows_the_page_order_and_says_what_was_filtered(world: World) -> None:
    world.require(team_id=world.team_a, track_id="alpha", due_in=-2)
    world.add_person("Zed Last", world.team_a, scores={"shared-basics": 75})
    world.add_person("Amy First", world.team_a)
    world.add_person("Mo Middle", world.team_a, completed={"shared-basics": TODAY})
    admin = world.login("admin")

    def export(**params: Any) -> tuple[list[list[str]], str]:
        response = admin.get("/manage/export.csv", params=params)
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        return rows[1:], response.headers["content-disposition"]

    body, disposition = export()
    on_screen = people_on(admin.get("/manage").text)
    assert on_screen == ["Amy First", "Mo Middle", "Zed Last"]
    assert [r[0] for r in body] == [n for n in on_screen for _ in range(2)]
    # Modules in the order of the track, as in the columns on screen.
    assert [r[5] for r in body[:2]] == ["Shared basics", "Alpha only"]
    sector = world.org.sector.replace("-", " ").capitalize()
    assert {r[4] for r in body} == {sector}
    zed = next(r for r in body if r[0] == "Zed Last" and r[5] == "Shared basics")
    assert zed[10] == "75%"
    today = utcnow().date().isoformat()
    assert disposition == f'attachment; filename="team-training-{today}.csv"'
    urgent, _ = export(sort="attention")
    attention_order = people_on(admin.get("/manage", params={"sort": "attention"}).text)
    assert list(dict.fromkeys(r[0] for r in urgent)) == attention_order
    _, named = export(organisation=world.org.id, status="overdue")
    organisation = re.sub(r"[^a-z0-9]+", "-", world.org.name.lower()).strip("-")
    assert named == f'attachment; filename="team-training-{organisation}-overdue-{today}.csv"'
    _, odd = export(team=world.team_a, q='a"b/../c')
    assert odd == f'attachment; filename="team-training-team-a-search-{today}.csv"'
