"""Required training forms: a due date typed as day, month and year, refused when it is not
a real date or is in the past; the same requirement twice refused; changing and removing one
(after a confirmation), with an audit entry each time, by the people who may."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from elearn.models import Assignment, AuditEvent, Organisation, ReminderSent, utcnow
from tests.conftest import post
from tests.web.test_manage import World

TRACK = "track:sample:alpha"


@pytest.fixture
def world(client: TestClient, organisations: list[Organisation]) -> World:
    return World(client, organisations)


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def assignments(world: World) -> list[Assignment]:
    with Session(world.engine) as db:
        return list(db.exec(select(Assignment).order_by(col(Assignment.id))).all())


def audit(world: World, action: str) -> list[dict[str, Any]]:
    with Session(world.engine) as db:
        events = db.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [{**json.loads(e.detail), "before": json.loads(e.before or "null")} for e in events]


def require(
    browser: TestClient, team: int | str, day: str, month: str, year: str, /, **more: str
) -> Any:
    browser.get("/manage/assignments")
    form = {"item": TRACK, "team": str(team), "due-day": day, "due-month": month}
    return post(browser, "/manage/assignments", {**form, "due-year": year, **more})


def in_a_year() -> tuple[str, str, str]:
    when = utcnow().date() + timedelta(days=365)
    return str(when.day), str(when.month), str(when.year)


def test_the_due_date_is_three_boxes_for_day_month_and_year(world: World) -> None:
    page = world.manager_a.get("/manage/assignments").text
    assert 'type="date"' not in page
    assert 'class="govuk-date-input"' in page
    for part, width in (("day", 2), ("month", 2), ("year", 4)):
        box = re.search(rf'<input [^>]*name="due-{part}"[^>]*>', page)
        assert box is not None, part
        assert f"govuk-input--width-{width}" in box.group(0)
        assert 'inputmode="numeric"' in box.group(0)


@pytest.mark.parametrize(
    ("day", "month", "year", "message", "wrong"),
    [
        ("", "", "", "Enter the due date", ["day", "month", "year"]),
        ("31", "", "2027", "Due date must include a month", ["month"]),
        ("31", "", "", "Due date must include a month and year", ["month", "year"]),
        ("31012027", "", "", "Due date must include a month and year", ["month", "year"]),
        ("31", "2", "2027", "Due date must be a real date", ["day", "month", "year"]),
        ("3x", "4", "2027", "Due date must be a real date", ["day"]),
        ("1", "4", "twenty", "Due date must be a real date", ["year"]),
        ("1", "4", "27", "Year must be 4 numbers", ["year"]),
        ("31", "1", "12027", "Year must be 4 numbers", ["year"]),
        ("1", "1", "31012027", "Year must be 4 numbers", ["year"]),
        ("1", "1", "2020", "Due date must be today or in the future", ["day", "month", "year"]),
        ("1", "1", "2999", "Due date must be within the next 10 years", ["year"]),
    ],
)
def test_a_due_date_that_is_not_right_is_refused_and_kept_as_typed(
    world: World, day: str, month: str, year: str, message: str, wrong: list[str]
) -> None:
    response = require(world.manager_a, world.team_a, day, month, year)
    assert response.status_code == 400
    page = response.text
    assert "There is a problem" in page and page.count(message) == 2  # summary and field
    assert f'href="#due-{wrong[0]}"' in page  # the summary leads to the box to correct
    for part, typed in (("day", day), ("month", month), ("year", year)):
        box = re.search(rf'<input [^>]*name="due-{part}"[^>]*>', page)
        assert box is not None
        assert f'value="{typed}"' in box.group(0)
        assert ("govuk-input--error" in box.group(0)) == (part in wrong), part
    assert 'aria-describedby="due-hint due-error"' in page
    assert assignments(world) == []


def test_today_is_allowed_and_a_month_may_be_typed_as_a_word(world: World) -> None:
    today = utcnow().date()
    done = require(world.manager_a, world.team_a, str(today.day), str(today.month), str(today.year))
    assert done.status_code == 303
    assert done.headers["location"] == "/manage/assignments?done=added"
    assert [a.due_on for a in assignments(world)] == [today]
    page = world.manager_a.get(done.headers["location"]).text
    assert "The training is now required" in page
    world.manager_a.get("/manage/assignments")
    worded = post(
        world.manager_a,
        "/manage/assignments",
        {
            "item": "module:sample:alpha-only",
            "team": str(world.team_a),
            "due-day": " 31 ",
            "due-month": "March",
            "due-year": str(today.year + 1),
            "recertify_months": "12",
        },
    )
    assert worded.status_code == 303
    added = assignments(world)[-1]
    assert added.due_on == today.replace(year=today.year + 1, month=3, day=31)
    assert added.recertify_months == 12
    [created, _] = audit(world, "assignment.create")
    assert created["track_id"] == "alpha" and created["team_id"] == world.team_a


def test_the_same_training_twice_for_one_team_is_refused_with_a_link_to_the_first(
    world: World,
) -> None:
    assert require(world.manager_a, world.team_a, *in_a_year()).status_code == 303
    [first] = assignments(world)
    again = require(world.manager_a, world.team_a, "1", "1", str(utcnow().year + 2))
    assert again.status_code == 400
    assert "This training is already required of Team A" in text_of(again.text)
    assert f'href="/manage/assignments/{first.id}/edit"' in again.text
    assert len(assignments(world)) == 1
    # Another team, or another track for the same team, is fine.
    admin = world.login("admin")
    assert require(admin, world.team_b, *in_a_year()).status_code == 303
    other = require(world.manager_a, world.team_a, *in_a_year(), item="track:sample:beta")
    assert other.status_code == 303
    # The same for an organisation and for a sector.
    for kind, field, value in (
        ("organisation", "organisation", str(world.org.id)),
        ("sector", "sector", world.org.sector),
    ):
        form = {"scope_kind": kind, field: value}
        assert require(admin, "", *in_a_year(), **form).status_code == 303
        twice = require(admin, "", *in_a_year(), **form)
        assert twice.status_code == 400, kind
        assert "This training is already required of everyone" in text_of(twice.text)
    assert len(assignments(world)) == 5


def test_required_training_can_be_changed_and_the_change_is_audited(world: World) -> None:
    assert require(world.manager_a, world.team_a, *in_a_year()).status_code == 303
    [first] = assignments(world)
    url = f"/manage/assignments/{first.id}/edit"
    listing = world.manager_a.get("/manage/assignments").text
    assert f'href="{url}"' in listing
    page = world.manager_a.get(url)
    assert page.status_code == 200
    day = re.search(r'<input [^>]*name="due-day"[^>]*>', page.text)
    assert day is not None and f'value="{first.due_on.day}"' in day.group(0)
    bad = post(
        world.manager_a,
        url,
        {"due-day": "30", "due-month": "2", "due-year": "2028", "recertify_months": "0"},
    )
    assert bad.status_code == 400
    assert "Due date must be a real date" in bad.text
    assert "Enter a whole number of months from 1 to 120" in bad.text
    assert 'value="30"' in bad.text
    past = post(world.manager_a, url, {"due-day": "1", "due-month": "1", "due-year": "2021"})
    assert past.status_code == 400 and "today or in the future" in past.text
    assert assignments(world)[0].due_on == first.due_on
    year = str(utcnow().year + 2)
    done = post(
        world.manager_a,
        url,
        {"due-day": "15", "due-month": "6", "due-year": year, "recertify_months": "24"},
    )
    assert done.status_code == 303
    assert "The required training is changed" in world.manager_a.get(done.headers["location"]).text
    [changed] = assignments(world)
    assert changed.due_on.isoformat() == f"{year}-06-15" and changed.recertify_months == 24
    [event] = audit(world, "assignment.change")
    assert event["due_on"] == f"{year}-06-15" and event["recertify_months"] == 24
    assert event["before"] == {"due_on": first.due_on.isoformat(), "recertify_months": None}


def test_removing_asks_first_and_cancelling_keeps_it(world: World) -> None:
    assert require(world.manager_a, world.team_a, *in_a_year()).status_code == 303
    [first] = assignments(world)
    listing = world.manager_a.get("/manage/assignments").text
    confirm_url = f"/manage/assignments/{first.id}/delete"
    assert f'href="{confirm_url}"' in listing
    assert f'action="{confirm_url}"' not in listing  # no one-click removal from the list
    confirm = world.manager_a.get(confirm_url)
    assert confirm.status_code == 200
    words = text_of(confirm.text)
    assert "Are you sure you want to stop requiring this training?" in words
    assert "Alpha sector" in words and "Team A" in words
    assert 'href="/manage/assignments">No, keep it</a>' in confirm.text
    # Cancelling is a link back: nothing changes.
    assert world.manager_a.get("/manage/assignments").status_code == 200
    assert len(assignments(world)) == 1
    removed = post(world.manager_a, confirm_url)
    assert removed.status_code == 303
    assert "no longer required" in world.manager_a.get(removed.headers["location"]).text
    assert assignments(world) == []
    [event] = audit(world, "assignment.remove")
    assert event["assignment_id"] == first.id and event["team_id"] == world.team_a


def test_only_the_people_who_may_remove_it_may_change_it(world: World) -> None:
    assert require(world.manager_a, world.team_a, *in_a_year()).status_code == 303
    [first] = assignments(world)
    edit, remove = f"/manage/assignments/{first.id}/edit", f"/manage/assignments/{first.id}/delete"
    later = {"due-day": "1", "due-month": "1", "due-year": str(utcnow().year + 3)}
    refused = {
        "manager of another team": world.manager_b,
        "admin of another partnership": world.login("admin", partnership="leicestershire"),
        "learner": world.login("learner"),
        "author": world.login("author"),
    }
    for who, browser in refused.items():
        for url in (edit, remove):
            assert browser.get(url).status_code == 404, (who, url)
        assert post(browser, edit, later).status_code == 404, who
        assert post(browser, remove).status_code == 404, who
    assert assignments(world)[0].due_on == first.due_on
    for missing in ("/manage/assignments/999999/edit", "/manage/assignments/0/delete"):
        assert world.manager_a.get(missing).status_code == 404
    admin = world.login("admin")
    assert admin.get(edit).status_code == 200 and admin.get(remove).status_code == 200
    assert post(admin, edit, later).status_code == 303
    assert post(admin, remove).status_code == 303
    assert assignments(world) == []


def test_training_that_people_were_reminded_about_can_still_be_removed(world: World) -> None:
    assert require(world.manager_a, world.team_a, *in_a_year()).status_code == 303
    [first] = assignments(world)
    person = world.add_person("Rita Reminded", world.team_a)
    with Session(world.engine) as db:
        db.add(ReminderSent(user_id=person, assignment_id=first.id, kind="learner"))
        db.commit()
    world.manager_a.get(f"/manage/assignments/{first.id}/delete")
    assert post(world.manager_a, f"/manage/assignments/{first.id}/delete").status_code == 303
    assert assignments(world) == []
    with Session(world.engine) as db:
        [sent] = db.exec(select(ReminderSent)).all()
        assert sent.user_id == person and sent.assignment_id is None
