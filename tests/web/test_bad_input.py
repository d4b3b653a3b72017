"""Bad input of every kind gets a 4xx with a clear message, never a server error, on each
database: ids beyond the integer range, digits that are not ASCII, far dates, NUL characters
and text longer than its column, sent by an admin, a manager and a learner to every route."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.models import Organisation, Team, TeamManager, User
from elearn.services.accounts import SIGN_IN_FAILED
from elearn.services.passwords import hash_password
from tests.conftest import (
    PASSWORD,
    MakeClient,
    csrf_token,
    new_postgres_database,
    post,
    sign_in,
)
from tests.services.conftest import use_quick_hashing
from tests.web.test_accounts import field_error

HUGE = "99999999999999999999"
BAD_VALUES = [HUGE, "2147483648", "²", "a\x00b", "x" * 5000, "9999-12-31", "-1"]
WORST_VALUES = [HUGE, "²", "a\x00b"]
# Names the routes read from the query string themselves (the team view's filters).
FILTER_NAMES = [
    "organisation",
    "team",
    "page",
    "q",
    "sector",
    "track",
    "module",
    "status",
    "sort",
    "partnership",
    "code",
    "next",
    "since",
    "until",
    "cursor",
    "limit",
    "kind",
]
# Routes that would sign the browser out in the middle of the sweep.
SKIPPED = ("/account/sign-out", "/exit", "/account/sign-out-everywhere")


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


def stranger(client: TestClient) -> TestClient:
    """Another browser, signed out."""
    return TestClient(client.app, raise_server_exceptions=False)


def person(
    client: TestClient, *, role: str, team_id: int | None = None, manages: int | None = None
) -> TestClient:
    """A signed-in browser for a new person with this role in Nottinghamshire."""
    email = f"{role}@example.org"
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        user = User(
            email=email,
            name=f"A {role}",
            password_hash=hash_password(PASSWORD),
            role=role,
            partnership_id="nottinghamshire",
            team_id=team_id,
        )
        db.add(user)
        db.commit()
        if manages is not None:
            db.add(TeamManager(team_id=manages, user_id=user.id or 0))
            db.commit()
    browser = stranger(client)
    assert sign_in(browser, email).status_code == 303
    return browser


def create_token(admin: TestClient) -> str:
    """A reporting API token created through the admin form."""
    admin.get("/admin/api-tokens")
    page = post(admin, "/admin/api-tokens", {"name": "Data team"})
    found = re.search(r'id="token" type="text" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


@dataclass
class Site:
    anyone: TestClient
    admin: TestClient
    manager: TestClient
    learner: TestClient
    token: str
    team_id: int
    organisation_id: int
    engine: Any

    def everyone(self) -> list[TestClient]:
        return [self.admin, self.manager, self.learner]


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[str]:
    """The test's own empty database, migrated: SQLite in its folder, or a new PostgreSQL one."""
    if database_url.startswith("sqlite"):
        yield database_url
        return
    server = database_url.rpartition("/")[0]
    with new_postgres_database(server, "elearn_bad_input", migrate=True) as url:
        yield url


@pytest.fixture
def site(make_client: MakeClient, fresh_database: str) -> Site:
    client = make_client(database_url=fresh_database)
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        organisation = db.exec(
            select(Organisation).where(Organisation.partnership_id == "nottinghamshire")
        ).first()
        assert organisation is not None and organisation.id is not None
        organisation_id = organisation.id
        team = Team(organisation_id=organisation.id, name="Outreach")
        db.add(team)
        db.commit()
        assert team.id is not None
        team_id = team.id
    admin = person(client, role="admin")
    return Site(
        anyone=stranger(client),
        admin=admin,
        manager=person(client, role="manager", manages=team_id),
        learner=person(client, role="learner", team_id=team_id),
        token=create_token(admin),
        team_id=team_id,
        organisation_id=organisation_id,
        engine=client.app.state.engine,  # type: ignore[attr-defined]
    )


def no_server_error(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"


def test_ids_beyond_the_integer_range_are_refused(site: Site) -> None:
    for browser in site.everyone():
        for path in (
            f"/manage/people/{HUGE}",
            "/manage/people/2147483648",
            f"/manage/assignments/{HUGE}/edit",
            f"/learning/reflections/{HUGE}/delete",
        ):
            response = browser.get(path)
            no_server_error(response, path)
            assert response.status_code in (404, 422), path
        for path in (f"/manage/invitations/{HUGE}/resend", f"/admin/api-tokens/{HUGE}/revoke"):
            no_server_error(post(browser, path), path)


def test_an_address_that_cannot_name_anything_is_not_found(site: Site) -> None:
    for path in (f"/manage/people/{HUGE}", "/manage/people/²", "/admin/certificates/" + "X" * 500):
        page = site.admin.get(path)
        assert page.status_code == 404, path
        assert "Page not found" in page.text


def test_a_form_value_out_of_bounds_names_the_field_and_the_problem(site: Site) -> None:
    site.anyone.get("/account/sign-up")
    page = post(site.anyone, "/account/sign-up", {"name": "n" * 20_000, "email": "a@example.org"})
    assert page.status_code == 422
    assert "The name must be 10000 characters or fewer." in page.text


def test_filters_with_unicode_digits_or_huge_ids_are_ignored_with_a_note(site: Site) -> None:
    for value in ("²", HUGE):
        for name in ("team", "organisation"):
            page = site.admin.get("/manage", params={name: value})
            assert page.status_code == 200, (name, value)
            assert f"The {name} filter was ignored" in page.text
        page = site.admin.get("/manage", params={"page": value})
        assert page.status_code == 200
        export = site.admin.get("/manage/export.csv", params={"team": value, "page": value})
        assert export.status_code == 200
    for name in ("team", "track"):
        no_server_error(site.manager.get("/manage/certificates", params={name: "²"}), name)
        no_server_error(site.manager.get("/manage/certificates.zip", params={name: HUGE}), name)


def test_a_nul_in_the_search_is_ignored_and_the_export_completes(site: Site) -> None:
    page = site.admin.get("/manage", params={"q": "sam\x00"})
    assert page.status_code == 200
    assert "search was ignored" in page.text
    export = site.admin.get("/manage/export.csv", params={"q": "sam\x00"})
    assert export.status_code == 200
    assert export.content.startswith(b"\xef\xbb\xbf")


def test_recertify_months_in_unicode_digits_is_refused_beside_the_field(site: Site) -> None:
    site.manager.get("/manage/assignments")
    response = post(
        site.manager,
        "/manage/assignments",
        {
            "target": "track:sample:alpha",
            "who": f"team:{site.team_id}",
            "due-day": "²",
            "due-month": "1",
            "due-year": "2999",
            "recertify_months": "²",
        },
    )
    assert 400 <= response.status_code < 500
    assert "govuk-error-message" in response.text


def test_far_dates_and_huge_ids_in_the_api_get_422_json(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.token}"}
    for params in (
        {"organisation": HUGE},
        {"team": "2147483648"},
        {"team": "²"},
        {"sector": "a\x00b"},
        {"sector": "x" * 5000},
        {"cursor": "WyJjIiw5OTk5OTk5OTk5OTk5OTk5OTk5OV0"},
    ):
        for path in ("/api/v1/completions", "/api/v1/people"):
            response = site.anyone.get(path, params=params, headers=headers)
            assert response.status_code == 422, (path, params, response.text[:200])
            assert response.headers["content-type"] == "application/json"
            assert response.json()["detail"]
    for params in ({"until": "9999-12-31"}, {"since": "0001-01-01"}):
        response = site.anyone.get("/api/v1/completions", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text[:200])
        assert "9999" in response.text or "0001" in response.text


def test_the_sign_in_and_sign_up_forms_refuse_nul_and_over_long_text(site: Site) -> None:
    visitor = site.anyone
    visitor.get("/account/sign-in")
    for data in (
        {"email": "a\x00@example.org", "password": "x"},
        {"email": "x" * 5000, "password": "x"},
    ):
        page = post(visitor, "/account/sign-in", data)
        assert page.status_code == 400, page.text[:300]
        assert field_error(page.text, "email") == SIGN_IN_FAILED
    assert 'value="' + "x" * 5000 + '"' in page.text  # what was typed is kept
    failed = post(
        visitor,
        "/account/sign-in",
        {"email": "nobody@example.org", "password": "wrong"},
        headers={"X-Forwarded-For": "1" * 100},
    )
    no_server_error(failed, "sign in from a long address")
    visitor.get("/account/sign-up")
    fine = {"name": "Sam Person", "email": "sam.person@example.org", "password": PASSWORD}
    for field, value, message in (
        ("name", "n" * 201, "Your name must be 200 characters or fewer"),
        ("name", "Sam\x00", "Your name must not contain control characters"),
        ("email", "e" * 320 + "@example.org", "Your email address must be 320 characters"),
        ("email", "sam\x00@example.org", "Enter an email address in the correct format"),
        ("password", "p" * 5000, "Password must be 256 characters or fewer"),
        ("organisation", "²", "must be one of the choices offered"),
        ("organisation", HUGE, "must be one of the choices offered"),
    ):
        data = {**fine, "organisation": str(site.organisation_id), field: value}
        response = post(visitor, "/account/sign-up", data)
        no_server_error(response, field)
        if field == "organisation":  # a choice no one can type: the plain refusal
            assert response.status_code == 422 and message in response.text
            continue
        assert response.status_code == 400, (field, response.text[:300])
        shown = field_error(response.text, field)
        assert shown is not None and shown.startswith(message), (field, shown)
        assert 'value="Sam Person"' in response.text or field == "name"  # the rest is kept
    with Session(site.engine) as db:
        assert db.exec(select(User).where(User.name == "Sam Person")).all() == []


def test_over_long_invitation_names_and_revocation_reasons_are_refused(site: Site) -> None:
    site.manager.get("/manage/invitations")
    for name in ("n" * 5000, "Sam\x00"):
        response = post(
            site.manager,
            "/manage/invitations",
            {"name": name, "email": "invitee@example.org", "team": str(site.team_id)},
        )
        no_server_error(response, "invitation")
        assert response.status_code >= 400
    site.admin.get("/admin/certificates")
    response = post(
        site.admin,
        "/admin/certificates/ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345/revoke",
        {"reason": "r" * 5000, "confirm": "yes"},
    )
    no_server_error(response, "revocation reason")


def _params(route: APIRoute) -> tuple[list[str], list[str], list[str]]:
    """The names of a route's path, query and form parameters, its dependencies' included."""
    paths: list[str] = []
    queries: list[str] = []
    forms: list[str] = []
    waiting = [route.dependant]
    while waiting:
        dependant = waiting.pop()
        paths += [p.alias for p in dependant.path_params]
        queries += [p.alias for p in dependant.query_params]
        forms += [p.alias for p in dependant.body_params]
        waiting += dependant.dependencies
    return paths, list(dict.fromkeys(queries + FILTER_NAMES)), forms


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: value, path)


def _routes(app: Any) -> list[tuple[str, APIRoute]]:
    """Every route of the app with its full path (routers included under a prefix too)."""
    from fastapi import routing

    if hasattr(routing, "iter_route_contexts"):
        found = [(c.path or "", c.route) for c in routing.iter_route_contexts(app.routes)]
    else:
        found = [(getattr(r, "path", ""), r) for r in app.routes]
    return [(path, r) for path, r in found if isinstance(r, APIRoute)]


def test_every_route_answers_bad_values_without_a_server_error(site: Site) -> None:
    routes = [
        (path, route) for path, route in _routes(site.admin.app) if not path.startswith(SKIPPED)
    ]
    assert len(routes) > 30
    headers = {"Authorization": f"Bearer {site.token}"}
    for path, route in routes:
        paths, queries, forms = _params(route)
        methods = route.methods or set()
        for browser in site.everyone():
            # Every value as the admin, who reaches most; the worst three as the others.
            for value in BAD_VALUES if browser is site.admin else WORST_VALUES:
                url = _fill(path, value.replace("\x00", "%00")) if paths else path
                what = f"{sorted(methods)} {path} with {value[:20]!r}"
                # Long text in at most 8 parameters at once: a URL has its limits too.
                params = {name: value for name in queries[: 8 if len(value) > 100 else None]}
                if "GET" in methods:
                    no_server_error(browser.get(url, params=params, headers=headers), what)
                if "POST" in methods:
                    data = {name: value for name in forms}
                    data["csrf_token"] = csrf_token(browser)
                    response = browser.post(url, params=params, data=data, follow_redirects=False)
                    no_server_error(response, what)


# Generated requests from the OpenAPI schema ---------------------------------------------------

# Operations that would end the signed-in session the rest of the run relies on.
ENDS_SESSION = ("/account/sign-out", "/exit", "/account/sign-out-everywhere")


def fuzz(site: Site, *, examples: int) -> tuple[Counter[int], list[str]]:
    """Send `examples` generated requests to each operation in /openapi.json, signed in as
    an admin (with the API token for /api); how many got each status, and each server error."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    app = site.admin.app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    token = csrf_token(site.admin)
    cookies = dict(site.admin.cookies.items())
    headers = {"Authorization": f"Bearer {site.token}", "x-csrf-token": token}
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        if operation.path.startswith(ENDS_SESSION):
            continue

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = case.call(headers=headers, cookies=cookies)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.formatted_path} {case.query}: {response.text}")

        call()
    return statuses, errors


def test_requests_generated_from_the_schema_get_no_server_error(site: Site) -> None:
    # ELEARN_FUZZ_EXAMPLES=90 runs about 5,000 requests per database, for a longer look.
    examples = int(os.environ.get("ELEARN_FUZZ_EXAMPLES", "4"))
    statuses, errors = fuzz(site, examples=examples)
    print(f"{sum(statuses.values())} requests: {sorted(statuses.items())}")
    assert sum(statuses.values()) > 100
    assert statuses[200] > 10, "hardly anything was let through: the sign-in did not hold"
    assert not errors, "\n".join(e[:300] for e in errors[:5])


def test_a_value_the_database_refuses_gets_a_calm_page(site: Site) -> None:
    """Should anything slip past the checks at the boundary, the database's refusal is a 400
    saying nothing was saved, not a server error."""
    app = site.admin.app

    def store_too_much() -> None:
        with Session(app.state.engine) as db:  # type: ignore[attr-defined]
            team = db.get(Team, site.team_id)
            assert team is not None
            db.exec(select(Team).where(Team.id == 2**70)).first()  # SQLite: beyond 64 bits
            team.name = "n" * 5000 + "\x00"  # PostgreSQL: too long, and a NUL
            db.add(team)
            db.commit()

    app.add_api_route("/test-only/store", store_too_much)  # type: ignore[attr-defined]
    page = site.admin.get("/test-only/store")
    assert page.status_code == 400
    assert "nothing was saved" in page.text
