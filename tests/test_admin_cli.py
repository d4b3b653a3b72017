"""`elearn admin create`: a partnership admin made from the command line, with a one-use
link that sets the password, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from elearn.cli import app
from elearn.config import Settings
from elearn.models import AuditEvent, PasswordReset, User, utcnow
from elearn.services.sessions import _aware

from .conftest import PG_SERVER, MakeClient, new_postgres_database, post, sign_in

runner = CliRunner()
NEW_PASSWORD = "harbour violet kettle moss"
LINK = re.compile(r"(http://\S+)/account/reset/([A-Za-z0-9_-]+)")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of each kind (PostgreSQL when reachable)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'admin.sqlite3'}"
        return
    request.getfixturevalue("postgres_url")  # skips when PostgreSQL is not reachable
    with new_postgres_database(PG_SERVER, "elearn_admin_cli", migrate=True) as fresh:
        yield fresh


@pytest.fixture
def web(make_client: MakeClient, url: str) -> TestClient:
    """The app on that database, partnerships and demo accounts seeded."""
    return make_client(database_url=url)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, url: str, web: TestClient) -> None:
    """The command line reads the same settings as the app, from the environment."""
    monkeypatch.setenv("ELEARN_ENVIRONMENT", "test")
    monkeypatch.setenv("ELEARN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ELEARN_COURSES_DIR", str(settings.courses_dir))
    monkeypatch.setenv("ELEARN_DATABASE_URL", url)
    monkeypatch.setenv("ELEARN_BASE_URL", "http://testserver")


def _create(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["admin", "create", *args])
    return result.exit_code, result.output


def _user(web: TestClient, email: str) -> User | None:
    with Session(web.app.state.engine) as db:  # type: ignore[attr-defined]
        return db.exec(select(User).where(User.email == email)).first()


def _events(web: TestClient, subject_id: int | None) -> list[AuditEvent]:
    with Session(web.app.state.engine) as db:  # type: ignore[attr-defined]
        return list(
            db.exec(
                select(AuditEvent)
                .where(AuditEvent.subject_id == subject_id)
                .order_by(col(AuditEvent.id))
            ).all()
        )


@pytest.mark.usefixtures("cli_env")
def test_the_printed_link_sets_a_password_and_the_admin_signs_in(web: TestClient) -> None:
    code, output = _create(
        "--partnership", "nottinghamshire", "--email", "Ada@Example.org", "--name", "Ada Admin"
    )
    assert code == 0, output
    assert "works once, for 7 days" in output
    found = LINK.search(output)
    assert found is not None, output
    assert found[1] == "http://testserver"
    token = found[2]

    user = _user(web, "ada@example.org")
    assert user is not None and user.role == "admin" and user.partnership_id == "nottinghamshire"
    assert user.email_confirmed_at is None
    with Session(web.app.state.engine) as db:  # type: ignore[attr-defined]
        reset = db.exec(select(PasswordReset).where(PasswordReset.user_id == user.id)).one()
        assert _aware(reset.expires_at) > utcnow() + timedelta(days=6, hours=23)
    [event] = _events(web, user.id)
    assert event.action == "person.admin_created" and event.actor_id is None
    assert event.partnership_id == "nottinghamshire"
    assert json.loads(event.after)["role"] == "admin"

    assert sign_in(web, "ada@example.org", NEW_PASSWORD).status_code != 303  # no password yet

    assert web.get(f"/account/reset/{token}").status_code == 200
    done = post(web, f"/account/reset/{token}", {"password": NEW_PASSWORD})
    assert done.status_code == 303, done.text
    assert sign_in(web, "ada@example.org", NEW_PASSWORD).status_code == 303
    assert web.get("/admin").status_code == 200

    assert web.get(f"/account/reset/{token}").status_code == 404  # once only
    again = post(web, f"/account/reset/{token}", {"password": "another long pass phrase"})
    assert again.status_code == 404


@pytest.mark.usefixtures("cli_env")
def test_an_unknown_partnership_exits_1_naming_the_known_ones(web: TestClient) -> None:
    code, output = _create("--partnership", "nowhere", "--email", "a@example.org", "--name", "A")
    assert code == 1
    assert "nowhere" in output and "leicestershire" in output and "nottinghamshire" in output
    assert _user(web, "a@example.org") is None


@pytest.mark.usefixtures("cli_env")
def test_an_account_in_another_partnership_is_refused(web: TestClient) -> None:
    email = "learner@leicestershire.demo.example"
    code, output = _create("--partnership", "nottinghamshire", "--email", email, "--name", "X")
    assert code == 1
    assert "leicestershire" in output
    user = _user(web, email)
    assert user is not None and user.role == "learner"
    assert _events(web, user.id) == []


@pytest.mark.usefixtures("cli_env")
def test_an_account_in_the_same_partnership_becomes_admin(web: TestClient) -> None:
    email = "learner@nottinghamshire.demo.example"
    code, output = _create("--partnership", "nottinghamshire", "--email", email, "--name", "X")
    assert code == 0, output
    assert "from learner to admin" in output
    assert "/account/reset/" not in output
    user = _user(web, email)
    assert user is not None and user.role == "admin"
    [event] = _events(web, user.id)
    assert event.action == "person.role"
    assert json.loads(event.before) == {"role": "learner"}
    assert json.loads(event.after) == {"role": "admin"}

    code, output = _create("--partnership", "nottinghamshire", "--email", email, "--name", "X")
    assert code == 0 and "already an admin" in output
    assert len(_events(web, user.id)) == 1


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("email", "name", "message"),
    [
        ("not-an-address", "Ada Admin", "correct format"),
        ("ada@example.org", "   ", "Enter your name"),
        ("ada@example.org", "Ada\tAdmin", "control characters"),
    ],
)
def test_a_bad_name_or_address_exits_1_with_the_reason(
    web: TestClient, email: str, name: str, message: str
) -> None:
    code, output = _create("--partnership", "nottinghamshire", "--email", email, "--name", name)
    assert code == 1
    assert message in output
    assert _user(web, "ada@example.org") is None
