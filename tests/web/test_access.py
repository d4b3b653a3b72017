"""Who may do what: CSRF on every form, each learner's own data only, sign-in redirects."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

from elearn.models import Enrolment, Invitation, Organisation, Reflection, Team, User
from elearn.services import accounts
from elearn.services.mail import written
from tests.conftest import PASSWORD, csrf_token, post, quiz_form, sign_up
from tests.services.conftest import use_quick_hashing

BASE = "/courses/sample/alpha/shared-basics"
NEW_PASSWORD = "harbour violet engine moss"


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


def snapshot(client: TestClient) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused request changed nothing."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(table.select())), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


def rows(client: TestClient, model: Any, *where: Any) -> list[Any]:
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        return list(db.exec(select(model).where(*where)).all())


def other_browser(client: TestClient) -> TestClient:
    return TestClient(client.app, raise_server_exceptions=False)


def second_learner(client: TestClient, org: Organisation) -> TestClient:
    other = other_browser(client)
    assert sign_up(other, org, name="Alex Other", email="alex@example.org").status_code == 303
    assert post(other, "/courses/sample/alpha/enrol").status_code == 303
    return other


# CSRF -------------------------------------------------------------------------------


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, looking inside included routers (FastAPI may wrap them)."""
    found = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        found += _routes(inner.routes) if inner is not None else [route]
    return found


def _post_paths(client: TestClient) -> list[str]:
    app: Any = client.app
    paths = {r.path for r in _routes(app.routes) if isinstance(r, APIRoute) and "POST" in r.methods}
    paths |= {p for p, ops in app.openapi()["paths"].items() if "post" in ops}
    # Quiz submissions last: they need an open attempt, which starting a quiz would create.
    return sorted(paths, key=lambda p: ("{attempt_id}" in p, p))


@pytest.fixture
def csrf_world(
    learner: TestClient,
    db: Session,
    organisations: list[Organisation],
    caplog: pytest.LogCaptureFixture,
) -> dict[str, Callable[[], str]]:
    """Real values for every path parameter of every POST route, made on demand."""
    learner.get(f"{BASE}/lessons/first?note=seen")
    assert post(learner, f"{BASE}/lessons/think/reflection", {"text": "Mine"}).status_code == 303
    settings = learner.app.state.settings  # type: ignore[attr-defined]
    accounts.request_password_reset(db, email="sam@example.org", settings=settings)
    mail = written(settings)[-1]
    reset = re.search(r"/account/reset/([A-Za-z0-9_-]+)", mail.get_body().get_content())  # type: ignore[union-attr]
    assert reset is not None
    team = db.exec(select(Team).where(Team.organisation_id == organisations[0].id)).first()
    assert team is not None and organisations[0].id is not None
    invitation = accounts.create_invitation(
        db,
        email="jo@example.org",
        organisation_id=organisations[0].id,
        team_id=team.id,
        role="learner",
        invited_by=None,
        settings=settings,
    )
    [invited] = rows(learner, Invitation, Invitation.email == "jo@example.org")
    [mine] = rows(learner, Reflection)

    def attempt() -> str:
        started = post(learner, f"{BASE}/quiz")
        assert started.status_code == 303
        return started.headers["location"].rsplit("/", 1)[1]

    return {
        "course_id": lambda: "sample",
        "track_id": lambda: "alpha",
        "module_id": lambda: "shared-basics",
        "lesson_id": lambda: "think",
        "reflection_id": lambda: str(mine.id),
        "attempt_id": attempt,
        "reset-token": lambda: reset.group(1),
        "invitation-token": lambda: invitation,
        "invitation_id": lambda: str(invited.id),
        "code": lambda: "ABCD-EFGH-JKMN-PQRS-TVWX-YZ23-4567",
        "assignment_id": lambda: "1",
        "token_id": lambda: "1",
    }


def _path_for(route: str, world: dict[str, Callable[[], str]]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "token":
            name = "invitation-token" if route.startswith("/invitations") else "reset-token"
        if name == "track_id" and route.endswith("/enrol"):
            return "beta"  # not enrolled yet: enrolling would change something
        assert name in world, f"the test does not know path parameter {name} of {route}"
        return world[name]()

    return re.sub(r"\{(\w+)\}", value, route)


FORMS = {
    "/account/sign-in": {"email": "sam@example.org", "password": PASSWORD},
    "/account/sign-up": {
        "name": "New Person",
        "email": "new@example.org",
        "password": PASSWORD,
        "organisation": "1",
    },
    "/account/password": {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    "/account/forgot": {"email": "sam@example.org"},
    "/account/reset/{token}": {"password": NEW_PASSWORD},
    "/invitations/{token}": {"name": "Jo Newcomer", "password": NEW_PASSWORD},
    "/courses/{course_id}/{track_id}/{module_id}/lessons/{lesson_id}/reflection": {
        "text": "Replaced"
    },
    "/admin/certificates/{code}/revoke": {"reason": "Issued in error"},
    "/admin/api-tokens": {"name": "Data team"},
    "/manage/assignments": {
        "item": "track:sample:alpha",
        "team": "1",
        "due_on": "2027-03-31",
        "due-day": "31",
        "due-month": "3",
        "due-year": "2030",
    },
    "/manage/assignments/{assignment_id}/edit": {
        "due-day": "31",
        "due-month": "3",
        "due-year": "2030",
        "recertify_months": "12",
    },
    "/admin/certificates/{code}/reissue": {"holder_name": "Sam Corrected"},
    "/courses/{course_id}/{track_id}/{module_id}/quiz/{attempt_id}": {
        "q-q1": ["0"],
        "q-q2": ["0", "1"],
        "q-q3": ["false"],
    },
}


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(
    learner: TestClient, csrf_world: dict[str, Callable[[], str]]
) -> None:
    routes = _post_paths(learner)
    assert len(routes) >= 14, routes
    good = csrf_token(learner)
    for route in routes:
        path = _path_for(route, csrf_world)
        form = FORMS.get(route, {})
        before = snapshot(learner)
        attempts: list[tuple[str, dict[str, Any]]] = [
            ("no token", {"data": form}),
            ("wrong token", {"data": {**form, "csrf_token": good[:-4] + "AAAA"}}),
            ("empty token", {"data": {**form, "csrf_token": ""}}),
            (
                "wrong header",
                {"data": {**form, "csrf_token": good}, "headers": {"X-CSRF-Token": "nope"}},
            ),
            ("no body", {}),
            ("json", {"json": {**form, "csrf_token": good}}),
        ]
        for label, kwargs in attempts:
            response = learner.post(path, follow_redirects=False, **kwargs)
            assert response.status_code == 403, f"POST {path} with {label}: {response.status_code}"
            assert "This form has expired" in response.text
        assert snapshot(learner) == before, f"POST {path} without a valid token changed data"
    assert learner.get("/learning", follow_redirects=False).status_code == 200  # still signed in


def test_a_token_from_another_browser_is_refused(
    learner: TestClient, organisations: list[Organisation]
) -> None:
    other = second_learner(learner, organisations[0])
    before = snapshot(learner)
    response = learner.post(
        "/courses/sample/beta/enrol",
        data={"csrf_token": csrf_token(other)},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert snapshot(learner) == before


def test_the_csrf_header_is_accepted_for_htmx(learner: TestClient) -> None:
    token = csrf_token(learner)
    response = learner.post(
        "/courses/sample/beta/enrol", headers={"X-CSRF-Token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert {e.track_id for e in rows(learner, Enrolment)} == {"alpha", "beta"}
    learner.get(f"{BASE}/lessons/first?note=seen")
    saved = learner.post(
        f"{BASE}/lessons/think/reflection",
        data={"text": "Sent by htmx"},
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert [r.text for r in rows(learner, Reflection)] == ["Sent by htmx"]


# Each learner's own data -------------------------------------------------------------


def test_a_learner_cannot_read_another_learners_attempts(
    learner: TestClient, organisations: list[Organisation]
) -> None:
    started = post(learner, f"{BASE}/quiz")
    mine = started.headers["location"]
    other = second_learner(learner, organisations[0])
    page = other.get(mine)
    assert page.status_code == 404
    assert "Submit answers" not in page.text and "Question 1" not in page.text
    # ... nor once it has results.
    answers = {"q1": ["0"], "q2": ["0", "1"], "q3": ["false"]}
    assert post(learner, mine, quiz_form(learner.get(mine).text, answers)).status_code == 303
    result = other.get(mine)
    assert result.status_code == 404 and "You scored" not in result.text
    assert other.get(mine.replace("/alpha/", "/beta/")).status_code == 404
    assert "You scored 100%" in learner.get(mine).text  # the owner still can
    # Their own quiz page lists only their own attempts.
    intro = other.get(f"{BASE}/quiz").text
    assert "Your earlier attempts" not in intro and "Start the quiz" in intro


def test_a_learner_cannot_delete_another_learners_reflection(
    learner: TestClient, organisations: list[Organisation]
) -> None:
    learner.get(f"{BASE}/lessons/first?note=seen")
    post(learner, f"{BASE}/lessons/think/reflection", {"text": "Sam's private thought"})
    [mine] = rows(learner, Reflection)
    other = second_learner(learner, organisations[0])
    refused = post(other, f"/learning/reflections/{mine.id}/delete", {"confirm": "yes"})
    assert refused.status_code == 404
    assert "Sam's private thought" not in refused.text
    assert [r.id for r in rows(learner, Reflection)] == [mine.id]
    assert post(other, "/learning/reflections/999999/delete").status_code == 404
    # Deleting "their own" reflection for the same prompt leaves Sam's alone.
    other.get(f"{BASE}/lessons/first?note=seen")
    post(other, f"{BASE}/lessons/think/reflection", {"action": "delete"})
    assert [r.id for r in rows(learner, Reflection)] == [mine.id]
    done = post(learner, f"/learning/reflections/{mine.id}/delete", {"confirm": "yes"})
    assert done.status_code == 303
    assert rows(learner, Reflection) == []


def test_reflections_are_seen_only_by_their_author(
    learner: TestClient, organisations: list[Organisation]
) -> None:
    learner.get(f"{BASE}/lessons/first?note=seen")
    post(learner, f"{BASE}/lessons/think/reflection", {"text": "Sam's private thought"})
    other = second_learner(learner, organisations[0])
    other.get(f"{BASE}/lessons/first?note=seen")
    post(other, f"{BASE}/lessons/think/reflection", {"text": "Alex's own words"})
    mine = html_unescape(learner.get("/learning/reflections").text)
    theirs = html_unescape(other.get("/learning/reflections").text)
    assert "Sam's private thought" in mine and "Alex's own words" not in mine
    assert "Alex's own words" in theirs and "Sam's private thought" not in theirs
    lesson = html_unescape(other.get(f"{BASE}/lessons/think").text)
    assert "Alex's own words" in lesson and "Sam's private thought" not in lesson
    assert [
        r.user_id for r in rows(learner, Reflection, Reflection.text == "Alex's own words")
    ] == [rows(learner, User, User.email == "alex@example.org")[0].id]


def html_unescape(page: str) -> str:
    return html.unescape(page)


# Signing in to reach learner pages ---------------------------------------------------


LEARNER_PAGES = [
    "/learning",
    "/learning/reflections",
    "/account",
    f"{BASE}/start",
    f"{BASE}/lessons/first",
    f"{BASE}/quiz",
    f"{BASE}/quiz/1",
]


@pytest.mark.parametrize("path", LEARNER_PAGES)
def test_signed_out_visitors_are_sent_to_sign_in_and_brought_back(
    client: TestClient, organisations: list[Organisation], path: str
) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/account/sign-in?next={quote(path)}"
    page = client.get(response.headers["location"]).text
    assert f'name="next" value="{path}"' in page
    sign_up(other_browser(client), organisations[0])
    back = post(
        client, "/account/sign-in", {"email": "sam@example.org", "password": PASSWORD, "next": path}
    )
    assert back.status_code == 303 and back.headers["location"] == path


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/courses/sample/alpha/enrol", {}),
        (f"{BASE}/lessons/think/skip", {}),
        (f"{BASE}/lessons/think/reflection", {"text": "hello"}),
        (f"{BASE}/quiz", {}),
        ("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("/account/sign-out-everywhere", {}),
        ("/learning/reflections/1/delete", {}),
        ("/manage/invitations/1/resend", {}),
    ],
)
def test_signed_out_forms_change_nothing(
    client: TestClient, path: str, data: dict[str, str]
) -> None:
    client.get("/")
    before = snapshot(client)
    response = post(client, path, data)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/sign-in")
    assert snapshot(client) == before


OFF_SITE = [
    "//evil.example",
    "//evil.example/learning",
    "https://evil.example",
    "http://evil.example/learning",
    "/\\evil.example",
    "\\\\evil.example",
    "///evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
]


def _lands_on_this_site(location: str) -> bool:
    """Where a browser would go: it drops tabs and newlines and reads \\ as /."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    target = urlsplit(urljoin("http://testserver/account/sign-in", cleaned))
    return target.scheme == "http" and target.netloc == "testserver"


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_never_leads_off_site(
    client: TestClient, organisations: list[Organisation], target: str
) -> None:
    sign_up(other_browser(client), organisations[0])
    page = client.get("/account/sign-in", params={"next": target}).text
    shown = re.search(r'name="next" value="([^"]*)"', page)
    assert shown is not None
    assert not re.match(r"(?:[a-z]+:|//|/\\|\\)", html_unescape(shown.group(1)), re.I)
    response = post(
        client,
        "/account/sign-in",
        {"email": "sam@example.org", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 303
    assert _lands_on_this_site(response.headers["location"]), response.headers["location"]


def test_a_local_next_keeps_its_query(
    client: TestClient, organisations: list[Organisation]
) -> None:
    sign_up(other_browser(client), organisations[0])
    response = post(
        client,
        "/account/sign-in",
        {"email": "sam@example.org", "password": PASSWORD, "next": "/courses/sample/alpha?x=1"},
    )
    assert response.headers["location"] == "/courses/sample/alpha?x=1"
