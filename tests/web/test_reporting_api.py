"""The reporting API: tokens that partnership admins create (shown once) and revoke, and the
read-only JSON completions and people, scoped like the token's creator."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, col, select

from elearn.models import (
    ApiToken,
    AuditEvent,
    ModuleCompletion,
    Organisation,
    QuizAttempt,
    Reflection,
    Team,
    TrackCompletion,
    User,
)
from elearn.services.tokens import token_hash
from tests.conftest import post
from tests.services.conftest import use_quick_hashing
from tests.web.test_certificates import finish_alpha, person, stranger, teams

API = "/api/v1/completions"


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


# Helpers ----------------------------------------------------------------------------------


def engine_of(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def create_token(admin: TestClient, name: str = "Data team") -> str:
    """Create a token through the admin form; return the token shown on the page."""
    assert admin.get("/admin/api-tokens").status_code == 200
    page = post(admin, "/admin/api-tokens", {"name": name})
    assert page.status_code == 200, page.text
    found = re.search(r'id="token" type="text" value="([^"]+)"', page.text)
    assert found is not None, "the new token is not on the page"
    return found.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api(client: TestClient, token: str, path: str = API, **params: Any) -> Any:
    """GET an API path with the token, from a browser with no cookies."""
    response = stranger(client).get(path, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def add_people(
    client: TestClient,
    organisation: Organisation | None,
    count: int,
    *,
    team_id: int | None = None,
    partnership: str | None = None,
) -> list[int]:
    """People added straight to the database; their ids."""
    with Session(engine_of(client)) as db:
        users = [
            User(
                email=f"p-{uuid.uuid4().hex[:10]}@example.org",
                name=f"Person {i}",
                password_hash="",
                partnership_id=partnership or (organisation.partnership_id if organisation else ""),
                organisation_id=organisation.id if organisation else None,
                team_id=team_id,
            )
            for i in range(count)
        ]
        db.add_all(users)
        db.commit()
        return [u.id for u in users if u.id is not None]


def complete(
    client: TestClient,
    user_ids: list[int],
    *,
    module: str = "shared-basics",
    track: str | None = None,
    when: datetime | None = None,
) -> None:
    """Module completions (and a track completion if asked) straight in the database."""
    with Session(engine_of(client)) as db:
        for user_id in user_ids:
            db.add(
                ModuleCompletion(
                    user_id=user_id,
                    course_id="sample",
                    module_id=module,
                    module_version=1,
                    content_hash="0" * 64,
                    completed_at=when or datetime.now(UTC),
                )
            )
            if track:
                db.add(
                    TrackCompletion(
                        user_id=user_id,
                        course_id="sample",
                        track_id=track,
                        completed_at=when or datetime.now(UTC),
                    )
                )
        db.commit()


def walk(
    client: TestClient, token: str, path: str = API, cursor: str | None = None, **params: Any
) -> list[dict[str, Any]]:
    """Every item of a list, page by page (from a cursor, if given)."""
    items: list[dict[str, Any]] = []
    for _ in range(1000):
        page = api(client, token, path, **params, **({"cursor": cursor} if cursor else {}))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def keys(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(i["kind"], i["completion_id"]) for i in items]


@contextmanager
def counted(client: TestClient) -> Iterator[list[str]]:
    """Every SQL statement the app runs inside the block."""
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    engine = engine_of(client)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def orgs(organisations: list[Organisation]) -> dict[str, list[Organisation]]:
    """The demo organisations by partnership."""
    found: dict[str, list[Organisation]] = {}
    for organisation in organisations:
        found.setdefault(organisation.partnership_id, []).append(organisation)
    return found


# Tokens: the admin pages -------------------------------------------------------------------


def test_an_admin_creates_a_token_that_is_shown_once(learner: TestClient) -> None:
    admin = person(learner, role="admin")
    token = create_token(admin, "Data team dashboard")
    with Session(engine_of(learner)) as db:
        [row] = db.exec(select(ApiToken)).all()
        [audit] = db.exec(select(AuditEvent).where(AuditEvent.action == "api_token.create")).all()
    assert row.name == "Data team dashboard"
    assert row.token_hash == token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    assert json.loads(audit.detail) == {"token_id": row.id, "name": "Data team dashboard"}
    assert token not in audit.detail
    # Never again: the list names the token, and shows no secret.
    later = admin.get("/admin/api-tokens")
    assert later.status_code == 200
    assert "Data team dashboard" in later.text and "Active" in later.text
    assert token not in later.text and "Never" in later.text
    assert later.headers["cache-control"] == "private, no-store"


def test_the_create_page_warns_to_copy_the_token_now(learner: TestClient) -> None:
    admin = person(learner, role="admin")
    admin.get("/admin/api-tokens")
    page = post(admin, "/admin/api-tokens", {"name": "Data team"})
    assert "Copy this token now" in page.text
    assert "will not be shown again" in page.text
    assert page.headers["cache-control"] == "private, no-store"


def test_a_token_needs_a_name(learner: TestClient) -> None:
    admin = person(learner, role="admin")
    admin.get("/admin/api-tokens")
    page = post(admin, "/admin/api-tokens", {"name": "   "})
    assert page.status_code == 400
    assert "Enter a name for the token" in page.text
    assert 'id="token"' not in page.text
    with Session(engine_of(learner)) as db:
        assert db.exec(select(ApiToken)).all() == []


def test_the_token_form_needs_the_csrf_token(learner: TestClient) -> None:
    admin = person(learner, role="admin")
    admin.get("/admin/api-tokens")
    refused = admin.post("/admin/api-tokens", data={"name": "No CSRF"}, follow_redirects=False)
    assert refused.status_code == 403


def test_only_admins_reach_the_token_pages(learner: TestClient) -> None:
    team = teams(learner, _first_org(learner))[0]
    for browser in (
        learner,
        person(learner, role="manager", manages=team.id),
        person(learner, role="author"),
    ):
        assert browser.get("/admin/api-tokens").status_code == 404
        assert post(browser, "/admin/api-tokens", {"name": "Mine"}).status_code == 404
        assert post(browser, "/admin/api-tokens/1/revoke").status_code == 404
    signed_out = stranger(learner).get("/admin/api-tokens", follow_redirects=False)
    assert signed_out.status_code == 303
    with Session(engine_of(learner)) as db:
        assert db.exec(select(ApiToken)).all() == []


def _first_org(client: TestClient) -> Organisation:
    with Session(engine_of(client)) as db:
        return db.exec(select(Organisation).order_by(col(Organisation.id))).first()  # type: ignore[return-value]


def test_admins_see_and_revoke_only_their_partnerships_tokens(learner: TestClient) -> None:
    notts = person(learner, role="admin")
    other_notts = person(learner, role="admin")
    leics = person(learner, role="admin", partnership="leicestershire")
    create_token(notts, "Notts dashboard")
    create_token(leics, "Leics dashboard")
    with Session(engine_of(learner)) as db:
        ids = {t.name: t.id for t in db.exec(select(ApiToken)).all()}
    # A colleague in the same partnership sees the token and may revoke it.
    page = other_notts.get("/admin/api-tokens").text
    assert "Notts dashboard" in page and "Leics dashboard" not in page
    # Another partnership's token is not there at all.
    assert post(notts, f"/admin/api-tokens/{ids['Leics dashboard']}/revoke").status_code == 404
    assert post(notts, "/admin/api-tokens/999999/revoke").status_code == 404
    done = post(other_notts, f"/admin/api-tokens/{ids['Notts dashboard']}/revoke")
    assert done.status_code == 303 and done.headers["location"] == "/admin/api-tokens?done=revoked"
    page = notts.get("/admin/api-tokens").text
    assert "Revoked" in page and "The token is revoked" not in page
    assert "The token is revoked" in notts.get(done.headers["location"]).text
    with Session(engine_of(learner)) as db:
        tokens = {t.name: t for t in db.exec(select(ApiToken)).all()}
        audits = db.exec(select(AuditEvent).where(AuditEvent.action == "api_token.revoke")).all()
    assert tokens["Notts dashboard"].revoked_at is not None
    assert tokens["Leics dashboard"].revoked_at is None
    assert [json.loads(a.detail) for a in audits] == [
        {"token_id": ids["Notts dashboard"], "name": "Notts dashboard"}
    ]
    # Revoking again changes nothing and writes no second audit event.
    assert post(notts, f"/admin/api-tokens/{ids['Notts dashboard']}/revoke").status_code == 303
    with Session(engine_of(learner)) as db:
        assert (
            len(db.exec(select(AuditEvent).where(AuditEvent.action == "api_token.revoke")).all())
            == 1
        )


# Authentication ----------------------------------------------------------------------------


def test_requests_without_a_live_token_get_401_json(learner: TestClient) -> None:
    admin = person(learner, role="admin")
    token = create_token(admin)
    anyone = stranger(learner)
    for headers in (
        {},
        bearer("not-a-token"),
        {"Authorization": f"Basic {token}"},
        {"Authorization": "Bearer "},
    ):
        refused = anyone.get(API, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.headers["content-type"] == "application/json"
        assert "Bearer" in refused.json()["detail"]
    assert anyone.get(API, headers=bearer(token)).status_code == 200


def test_the_session_cookie_is_not_a_token(learner: TestClient) -> None:
    admin = person(learner, role="admin")
    create_token(admin)
    refused = admin.get(API)  # signed in as an admin, but no token
    assert refused.status_code == 401
    assert refused.json()["detail"]


def test_a_revoked_token_stops_working_at_once(learner: TestClient) -> None:
    admin = person(learner, role="admin")
    token = create_token(admin)
    assert stranger(learner).get(API, headers=bearer(token)).status_code == 200
    with Session(engine_of(learner)) as db:
        [row] = db.exec(select(ApiToken)).all()
    assert post(admin, f"/admin/api-tokens/{row.id}/revoke").status_code == 303
    refused = stranger(learner).get(API, headers=bearer(token))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"


def test_a_token_stops_working_when_its_creator_is_no_longer_an_admin(
    learner: TestClient,
) -> None:
    admin = person(learner, role="admin")
    colleague = person(learner, role="admin")
    token = create_token(admin)
    assert stranger(learner).get(API, headers=bearer(token)).status_code == 200
    with Session(engine_of(learner)) as db:
        [row] = db.exec(select(ApiToken)).all()
        creator = db.get(User, row.created_by_id)
        assert creator is not None
        creator.role = "manager"
        db.add(creator)
        db.commit()
    assert stranger(learner).get(API, headers=bearer(token)).status_code == 401
    assert "Not working" in colleague.get("/admin/api-tokens").text


def test_a_token_follows_its_creator_to_another_partnership(
    learner: TestClient, orgs: dict[str, list[Organisation]]
) -> None:
    leics_person = add_people(learner, orgs["leicestershire"][0], 1)
    complete(learner, leics_person)
    admin = person(learner, role="admin")
    token = create_token(admin)
    assert api(learner, token)["items"] == []
    with Session(engine_of(learner)) as db:
        [row] = db.exec(select(ApiToken)).all()
        creator = db.get(User, row.created_by_id)
        assert creator is not None
        creator.partnership_id = "leicestershire"
        db.add(creator)
        db.commit()
    assert [i["person"]["id"] for i in api(learner, token)["items"]] == leics_person


def test_last_used_is_recorded_at_most_once_a_minute(learner: TestClient) -> None:
    admin = person(learner, role="admin")
    token = create_token(admin)
    with Session(engine_of(learner)) as db:
        [row] = db.exec(select(ApiToken)).all()
    assert row.last_used_at is None
    with counted(learner) as first:
        api(learner, token)
    with counted(learner) as second:
        api(learner, token)
    assert any(s.lstrip().upper().startswith("UPDATE") for s in first)
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in second)
    with Session(engine_of(learner)) as db:
        used = db.get(ApiToken, row.id)
        assert used is not None and used.last_used_at is not None
        used.last_used_at = datetime.now(UTC) - timedelta(minutes=5)
        db.add(used)
        db.commit()
    api(learner, token)
    with Session(engine_of(learner)) as db:
        again = db.get(ApiToken, row.id)
        assert again is not None and again.last_used_at is not None
        moment = again.last_used_at.replace(tzinfo=again.last_used_at.tzinfo or UTC)
        assert datetime.now(UTC) - moment < timedelta(minutes=1)
    page = admin.get("/admin/api-tokens").text
    assert "Never" not in page and "UTC" in page


# Completions -------------------------------------------------------------------------------


def test_completions_are_those_of_the_tokens_partnership_only(
    learner: TestClient, orgs: dict[str, list[Organisation]]
) -> None:
    finish_alpha(learner)  # Sam Learner, Nottinghamshire: two modules and the alpha track
    leics = add_people(learner, orgs["leicestershire"][0], 2)
    complete(learner, leics, track="beta")
    notts_token = create_token(person(learner, role="admin"))
    leics_token = create_token(person(learner, role="admin", partnership="leicestershire"))

    page = api(learner, notts_token)
    assert page["next_cursor"] is None and page["notes"] == []
    items = page["items"]
    assert {i["person"]["email"] for i in items} == {"sam@example.org"}
    assert sorted((i["kind"], i["module_id"] or i["track_id"]) for i in items) == [
        ("module", "alpha-only"),
        ("module", "shared-basics"),
        ("track", "alpha"),
    ]
    basics = next(i for i in items if i["module_id"] == "shared-basics")
    riverside = orgs["nottinghamshire"][0]
    assert basics["person"] == {
        "id": basics["person"]["id"],
        "name": "Sam Learner",
        "email": "sam@example.org",
        "organisation_id": riverside.id,
        "organisation": riverside.name,
        "team_id": None,
        "team": None,
        "sector": riverside.sector,
    }
    assert basics["course_id"] == "sample" and basics["track_id"] is None
    with Session(engine_of(learner)) as db:
        recorded = db.exec(
            select(ModuleCompletion).where(
                ModuleCompletion.module_id == "shared-basics",
                ModuleCompletion.user_id == basics["person"]["id"],
            )
        ).one()
    assert basics["completion_id"] == recorded.id
    assert basics["module_version"] == recorded.module_version
    assert basics["title"] == "Shared basics"
    assert basics["best_score"] == 100
    only = next(i for i in items if i["module_id"] == "alpha-only")
    assert only["best_score"] is None  # no quiz
    track = next(i for i in items if i["kind"] == "track")
    assert track["module_id"] is None and track["module_version"] is None
    assert track["best_score"] is None and track["title"] == "Alpha sector"
    for item in items:
        moment = datetime.fromisoformat(item["completed_at"].replace("Z", "+00:00"))
        assert moment.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - moment) < timedelta(minutes=5)
    # Reflections and individual answers are never there.
    with Session(engine_of(learner)) as db:
        assert db.exec(select(QuizAttempt)).all()
        answers = [a.answers for a in db.exec(select(QuizAttempt)).all() if a.answers]
        reflections = [r.text for r in db.exec(select(Reflection)).all()]
    body = json.dumps(page)
    assert "answers" not in body and "reflection" not in body.lower()
    for secret in answers + reflections:
        assert secret not in body

    other = api(learner, leics_token)["items"]
    assert {i["person"]["id"] for i in other} == set(leics)
    assert {(i["kind"], i["track_id"]) for i in other} == {("module", None), ("track", "beta")}


def test_completions_are_filtered_like_the_matrix(
    learner: TestClient, orgs: dict[str, list[Organisation]]
) -> None:
    police, youth = orgs["nottinghamshire"][1], orgs["nottinghamshire"][2]
    custody = next(t for t in teams(learner, police) if t.name == "Custody suite")
    in_custody = add_people(learner, police, 2, team_id=custody.id)
    in_youth = add_people(learner, youth, 3)
    long_ago = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    complete(learner, in_custody, track="beta", when=long_ago)
    complete(learner, in_youth)
    complete(learner, in_youth, module="alpha-only")
    token = create_token(person(learner, role="admin"))

    def who(**params: Any) -> set[tuple[int, str, str]]:
        page = api(learner, token, **params)
        assert page["notes"] == [], page["notes"]
        return {
            (i["person"]["id"], i["kind"], i["module_id"] or i["track_id"]) for i in page["items"]
        }

    everything = who()
    assert len(everything) == 2 * 2 + 3 * 2
    assert who(organisation=police.id) == {r for r in everything if r[0] in in_custody}
    assert who(team=custody.id) == {r for r in everything if r[0] in in_custody}
    assert who(sector="youth-justice") == {r for r in everything if r[0] in in_youth}
    assert who(kind="track") == {(u, "track", "beta") for u in in_custody}
    assert who(kind="module", sector="police") == {
        (u, "module", "shared-basics") for u in in_custody
    }
    assert who(module="alpha-only") == {(u, "module", "alpha-only") for u in in_youth}
    # A track: its own completions, and completions of the modules in it.
    assert who(track="beta") == {r for r in everything if r[2] in ("beta", "shared-basics")}
    assert who(track="alpha") == {r for r in everything if r[2] in ("shared-basics", "alpha-only")}
    assert who(until="2024-01-15") == {r for r in everything if r[0] in in_custody}
    assert who(since="2024-01-16") == {r for r in everything if r[0] in in_youth}
    assert who(since="2024-01-15", until="2024-01-15") == who(until="2024-01-15")
    assert who(since="2024-01-15", until="2024-01-15", organisation=youth.id) == set()


def test_unknown_filter_values_are_ignored_with_a_note(
    learner: TestClient, orgs: dict[str, list[Organisation]]
) -> None:
    people = add_people(learner, orgs["nottinghamshire"][0], 2)
    complete(learner, people)
    leics_org = orgs["leicestershire"][0]
    leics_team = teams(learner, leics_org)[0]
    token = create_token(person(learner, role="admin"))
    everything = keys(api(learner, token)["items"])
    assert len(everything) == 2
    page = api(
        learner,
        token,
        organisation=leics_org.id,
        team=leics_team.id,
        sector="astronauts",
        track="no-such-track",
        module="no-such-module",
    )
    assert keys(page["items"]) == everything
    notes = " ".join(page["notes"])
    assert len(page["notes"]) == 5
    for name in ("organisation", "team", "sector", "track", "module"):
        assert f"The {name} filter was ignored" in notes
    assert "astronauts" in notes and "no-such-track" in notes
    assert api(learner, token, organisation=999999)["notes"]


def test_malformed_values_get_422_json(learner: TestClient) -> None:
    token = create_token(person(learner, role="admin"))
    anyone = stranger(learner)
    for params in (
        {"organisation": "abc"},
        {"team": "1.5"},
        {"since": "yesterday"},
        {"until": "2024-02-30"},
        {"kind": "lesson"},
        {"limit": "0"},
        {"limit": "1001"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJwIiwxXQ"},  # a cursor of the people list
    ):
        refused = anyone.get(API, params=params, headers=bearer(token))
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == "application/json"
        assert refused.json()["detail"], params


def test_pages_walk_every_completion_once_in_a_stable_order(
    learner: TestClient, orgs: dict[str, list[Organisation]]
) -> None:
    riverside = orgs["nottinghamshire"][0]
    first = add_people(learner, riverside, 12)
    complete(learner, first, track="beta")  # module and track ids overlap: 1..12 each
    complete(learner, first[:5], module="alpha-only")
    token = create_token(person(learner, role="admin"))
    one_page = api(learner, token, limit=1000)
    assert one_page["next_cursor"] is None
    assert len(one_page["items"]) == 12 * 2 + 5
    walked = walk(learner, token, limit=7)
    assert keys(walked) == keys(one_page["items"])
    assert len(set(keys(walked))) == len(walked)
    ids = [(i["completion_id"], i["kind"] == "track") for i in walked]
    assert ids == sorted(ids)
    # Completions added while paging are found later, with nothing skipped or repeated.
    page = api(learner, token, limit=10)
    later = add_people(learner, riverside, 3)
    complete(learner, later, track="alpha")
    rest = walk(learner, token, limit=10, cursor=page["next_cursor"])
    assert len(page["items"]) + len(rest) == 12 * 2 + 5 + 3 * 2
    assert len(set(keys(page["items"] + rest))) == 12 * 2 + 5 + 3 * 2
    # Filters and pages together.
    assert keys(walk(learner, token, limit=4, kind="track")) == keys(
        api(learner, token, kind="track")["items"]
    )
    assert api(learner, token)["next_cursor"] is None  # default limit 100


def test_queries_do_not_grow_with_the_number_of_completions(
    learner: TestClient, orgs: dict[str, list[Organisation]]
) -> None:
    police = orgs["nottinghamshire"][1]
    team = teams(learner, police)[0]
    token = create_token(person(learner, role="admin"))
    api(learner, token)  # records last use now, so the measured requests do not write

    def measure(total: int) -> tuple[int, int]:
        """Completions (a third of them whole tracks, the rest modules with quiz scores)
        added up to `total`; the statements run to read them all, and all the people."""
        with Session(engine_of(learner)) as db:
            have = len(db.exec(select(ModuleCompletion)).all())
            have += len(db.exec(select(TrackCompletion)).all())
        tracks = (total - have) // 3
        people = add_people(learner, police, total - have - tracks, team_id=team.id)
        complete(learner, people)
        with Session(engine_of(learner)) as db:
            for user_id in people[:tracks]:
                db.add(TrackCompletion(user_id=user_id, course_id="sample", track_id="beta"))
            for user_id in people:
                db.add(
                    QuizAttempt(
                        user_id=user_id,
                        course_id="sample",
                        module_id="shared-basics",
                        module_version=1,
                        content_hash="0" * 64,
                        seed=1,
                        questions="[]",
                        submitted_at=datetime.now(UTC),
                        score=80,
                    )
                )
            db.commit()
        with counted(learner) as completions:
            page = api(learner, token, limit=1000, organisation=police.id, team=team.id)
        with counted(learner) as everyone:
            api(learner, token, "/api/v1/people", limit=1000, sector="police")
        assert len(page["items"]) == total
        assert {i["best_score"] for i in page["items"] if i["kind"] == "module"} == {80}
        return len(completions), len(everyone)

    few = measure(5)
    many = measure(50)
    assert few == many
    # The token, the organisation and team filters, the page, best scores.
    assert few[0] <= 5, few


# People ------------------------------------------------------------------------------------


def test_people_are_those_of_the_partnership_with_where_they_work(
    learner: TestClient, orgs: dict[str, list[Organisation]]
) -> None:
    police = orgs["nottinghamshire"][1]
    team = teams(learner, police)[0]
    officers = add_people(learner, police, 4, team_id=team.id)
    add_people(learner, orgs["leicestershire"][1], 3)
    token = create_token(person(learner, role="admin"))
    everyone = walk(learner, token, "/api/v1/people", limit=2)
    with Session(engine_of(learner)) as db:
        expected = {
            u.id
            for u in db.exec(select(User)).all()
            if u.partnership_id == "nottinghamshire"
            and (
                u.organisation_id is None
                or db.get(Organisation, u.organisation_id).partnership_id  # type: ignore[union-attr]
                == "nottinghamshire"
            )
        }
    ids = [p["id"] for p in everyone]
    assert ids == sorted(ids) and set(ids) == expected
    assert set(officers) <= set(ids)
    officer = next(p for p in everyone if p["id"] == officers[0])
    assert officer == {
        "id": officers[0],
        "name": "Person 0",
        "email": officer["email"],
        "organisation_id": police.id,
        "organisation": police.name,
        "team_id": team.id,
        "team": team.name,
        "sector": "police",
    }
    page = api(learner, token, "/api/v1/people", team=team.id)
    assert [p["id"] for p in page["items"]] == officers
    ignored = api(learner, token, "/api/v1/people", organisation=orgs["leicestershire"][1].id)
    assert ignored["notes"] and [p["id"] for p in ignored["items"]] == ids[:100]
    refused = stranger(learner).get("/api/v1/people")
    assert refused.status_code == 401


# The OpenAPI document ----------------------------------------------------------------------


def test_the_openapi_document_describes_the_api_and_its_bearer_token(
    learner: TestClient,
) -> None:
    document = stranger(learner).get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    operation = document["paths"]["/api/v1/completions"]["get"]
    [requirement] = operation["security"]
    [name] = requirement
    assert schemes[name]["type"] == "http" and schemes[name]["scheme"].lower() == "bearer"
    assert document["paths"]["/api/v1/people"]["get"]["security"] == [requirement]
    parameters = {p["name"] for p in operation["parameters"]}
    assert {
        "organisation",
        "team",
        "sector",
        "track",
        "module",
        "kind",
        "since",
        "until",
        "limit",
        "cursor",
    } <= parameters
    schemas = document["components"]["schemas"]
    assert set(schemas["CompletionPage"]["properties"]) == {"items", "next_cursor", "notes"}
    assert {
        "person",
        "course_id",
        "track_id",
        "module_id",
        "module_version",
        "kind",
        "completed_at",
        "best_score",
    } <= set(schemas["CompletionOut"]["properties"])
    assert {"id", "name", "email", "organisation", "team", "sector"} <= set(
        schemas["PersonOut"]["properties"]
    )
    assert "401" in operation["responses"]


def test_team_of_the_wrong_kind_is_noted_not_a_500(
    learner: TestClient, orgs: dict[str, list[Organisation]]
) -> None:
    token = create_token(person(learner, role="admin"))
    with Session(engine_of(learner)) as db:
        biggest = db.exec(select(Team.id).order_by(col(Team.id).desc())).first()
    page = api(learner, token, team=(biggest or 0) + 1000, organisation=-5)
    assert len(page["notes"]) == 2


# On each database --------------------------------------------------------------------------


@pytest.fixture
def each_db(settings: Any, database_url: str) -> Iterator[TestClient]:
    """A client for an app on each database (SQLite, and PostgreSQL when reachable; the
    PostgreSQL database is shared by the run, so tests on it keep to their own rows)."""
    from elearn.app import create_app
    from elearn.db import upgrade
    from elearn.services.demo import seed_demo
    from elearn.services.partnerships import load_partnerships

    if not database_url.startswith("sqlite"):
        upgrade(database_url)  # create_app migrates SQLite only
    app = create_app(
        settings.model_copy(update={"database_url": database_url}), configure_logging=False
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        with Session(app.state.engine) as db:
            load_partnerships(db)
            seed_demo(db)
        yield client


def test_completions_on_each_database(each_db: TestClient) -> None:
    client = each_db
    with Session(engine_of(client)) as db:
        organisation = Organisation(
            partnership_id="nottinghamshire",
            name=f"Reporting test {uuid.uuid4().hex[:8]}",
            sector="education",
        )
        db.add(organisation)
        db.commit()
        db.refresh(organisation)
    people = add_people(client, organisation, 6)
    complete(client, people, when=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))
    complete(client, people[:3], module="alpha-only", track="alpha")
    with Session(engine_of(client)) as db:
        for score in (60, 90, None):
            db.add(
                QuizAttempt(
                    user_id=people[0],
                    course_id="sample",
                    module_id="shared-basics",
                    module_version=1,
                    content_hash="0" * 64,
                    seed=1,
                    questions="[]",
                    submitted_at=None if score is None else datetime.now(UTC),
                    score=score,
                )
            )
        db.commit()
    token = create_token(person(client, role="admin"))
    everything = api(client, token, organisation=organisation.id, limit=1000)["items"]
    assert len(everything) == 6 + 3 + 3
    walked = walk(client, token, organisation=organisation.id, limit=4)
    assert keys(walked) == keys(everything) and len(set(keys(walked))) == 12
    scores = {
        (i["person"]["id"], i["module_id"]): i["best_score"]
        for i in everything
        if i["kind"] == "module"
    }
    assert scores[(people[0], "shared-basics")] == 90
    assert scores[(people[1], "shared-basics")] is None
    march = api(client, token, organisation=organisation.id, since="2025-03-01", until="2025-03-01")
    assert {i["person"]["id"] for i in march["items"]} == set(people)
    assert all(i["completed_at"].startswith("2025-03-01T09:30:00") for i in march["items"])
    alpha = api(client, token, organisation=organisation.id, track="alpha")["items"]
    assert len(alpha) == 6 + 3 + 3  # the track, and both of its modules
    beta = api(client, token, organisation=organisation.id, track="beta")["items"]
    assert {i["module_id"] for i in beta} == {"shared-basics"}
    people_page = api(client, token, "/api/v1/people", organisation=organisation.id)
    assert [p["id"] for p in people_page["items"]] == people
