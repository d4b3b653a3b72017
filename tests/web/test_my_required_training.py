"""A learner sees on My learning what their team, organisation and sector require of them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.models import Assignment, ModuleCompletion, Organisation, Team, User, utcnow
from elearn.services import training
from elearn.services.statuses import add_months
from tests.conftest import sign_up
from tests.web.test_query_counts import counted

TODAY = utcnow().date()


class Learner:
    """A learner in a team of an organisation, and a way to require training of them."""

    def __init__(self, client: TestClient, organisation: Organisation) -> None:
        self.client = client
        self.engine = client.app.state.engine  # type: ignore[attr-defined]
        self.org = organisation
        assert sign_up(client, organisation, email="req@example.org").status_code == 303
        with Session(self.engine) as db:
            team = Team(organisation_id=organisation.id or 0, name="Riverside Year 7")
            db.add(team)
            db.commit()
            self.team_id = team.id or 0
            user = db.exec(select(User).where(User.email == "req@example.org")).one()
            user.team_id = self.team_id
            db.add(user)
            db.commit()
            self.user_id = user.id or 0

    def require(self, due_in: int, **kwargs: Any) -> None:
        """Require training through the same service the managers' form uses."""
        with Session(self.engine) as db:
            actor = db.get(User, self.user_id)
            assert actor is not None
            assignment = Assignment(
                partnership_id=self.org.partnership_id,
                course_id="sample",
                due_on=TODAY + timedelta(days=due_in),
                **kwargs,
            )
            training.add_assignment(db, actor=actor, assignment=assignment)

    def completed(self, module_id: str, on: date) -> None:
        with Session(self.engine) as db:
            db.add(
                ModuleCompletion(
                    user_id=self.user_id,
                    course_id="sample",
                    module_id=module_id,
                    module_version=1,
                    content_hash="x" * 64,
                    completed_at=datetime.combine(on, datetime.min.time(), UTC),
                )
            )
            db.commit()


@pytest.fixture
def person(client: TestClient, organisations: list[Organisation]) -> Learner:
    return Learner(client, organisations[0])


def required_items(page: str) -> list[str]:
    """Each requirement on the page as plain text, in order."""
    section = page.split('id="required"', 1)[1].split("</section>", 1)[0]
    items = re.findall(r"<li[^>]*>(.*?)</li>", section, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", i).split()) for i in items]


def test_each_status_from_team_organisation_and_sector_most_urgent_first(
    person: Learner,
) -> None:
    old = TODAY - timedelta(days=400)
    person.completed("shared-basics", old)
    person.require(-5, team_id=person.team_id, module_id="alpha-only")  # overdue
    person.require(10, organisation_id=person.org.id, track_id="alpha")  # due soon
    person.require(60, sector=person.org.sector, module_id="shared-basics", recertify_months=12)
    person.require(60, organisation_id=person.org.id, track_id="beta", recertify_months=24)

    page = person.client.get("/learning").text
    items = required_items(page)
    assert len(items) == 4
    overdue, expired, due_soon, completed = items
    due = lambda days: f"{TODAY + timedelta(days=days):%-d %B %Y}"  # noqa: E731
    assert "alpha-only" not in overdue and "Overdue" in overdue
    assert "Required by Your team, Riverside Year 7" in overdue and due(-5) in overdue
    assert "Expired" in expired and "sector" in expired
    assert f"Lapsed {add_months(old, 12):%-d %B %Y}" in expired
    assert "Due soon" in due_soon and f"Required by {person.org.name}" in due_soon
    assert "(track)" in due_soon and due(10) in due_soon
    assert "Completed" in completed and f"Lapses {add_months(old, 24):%-d %B %Y}" in completed
    assert 'href="/courses/sample/alpha/alpha-only"' in page
    assert 'href="/courses/sample/alpha"' in page
    assert 'class="govuk-tag govuk-tag--red">Overdue' in page


def test_not_started_and_in_progress(person: Learner) -> None:
    person.require(90, team_id=person.team_id, track_id="alpha")
    person.require(90, organisation_id=person.org.id, module_id="shared-basics")
    items = required_items(person.client.get("/learning").text)
    assert ["Not started" in i for i in items] == [True, True]
    person.client.get("/courses/sample/alpha/shared-basics/lessons/first?note=seen")
    items = required_items(person.client.get("/learning").text)
    assert ["In progress" in i for i in items] == [True, True]
    assert all("Continue" in i for i in items)


def test_training_for_other_teams_and_organisations_is_not_shown(
    person: Learner, organisations: list[Organisation]
) -> None:
    with Session(person.engine) as db:
        other = Team(organisation_id=person.org.id or 0, name="Another team")
        db.add(other)
        db.commit()
        other_id = other.id or 0
    elsewhere = next(
        o
        for o in organisations
        if o.partnership_id == person.org.partnership_id and o.sector != person.org.sector
    )
    person.require(10, team_id=other_id, track_id="alpha")
    person.require(10, organisation_id=elsewhere.id, track_id="alpha")
    person.require(10, sector=elsewhere.sector, track_id="alpha")
    page = person.client.get("/learning").text
    assert 'id="required"' not in page
    assert "Overdue" not in page and "Due soon" not in page


def test_queries_do_not_grow_with_the_number_of_requirements(person: Learner) -> None:
    person.require(10, team_id=person.team_id, module_id="alpha-only")
    person.client.get("/learning")
    with counted(person.client) as few:
        assert person.client.get("/learning").status_code == 200
    person.require(20, organisation_id=person.org.id, track_id="alpha")
    person.require(30, sector=person.org.sector, track_id="beta")
    person.require(40, organisation_id=person.org.id, module_id="shared-basics")
    with counted(person.client) as many:
        page = person.client.get("/learning").text
    assert len(required_items(page)) == 4
    assert len(many) == len(few)
