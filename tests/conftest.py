"""Shared fixtures: settings on a temporary data folder, each database, an app and a client."""

from __future__ import annotations

import contextlib
import functools
import html
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session, col, select

from elearn.app import create_app
from elearn.config import Settings, load_settings
from elearn.content.catalog import load_catalog
from elearn.db import upgrade
from elearn.models import Organisation, User, utcnow
from elearn.services import accounts
from elearn.services.demo import seed_demo
from elearn.services.mail import written
from elearn.services.partnerships import load_partnerships

HERE = Path(__file__).resolve().parent
GOOD_COURSES = HERE / "content" / "testdata" / "good"
REAL_COURSES = HERE.parent / "courses"
PG_SERVER = os.environ.get("ELEARN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(f"{PG_SERVER}/postgres", connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    if not _postgres_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_SERVER} is not reachable, and CI=true needs it")
        pytest.skip("PostgreSQL is not reachable")
    with new_postgres_database(PG_SERVER, f"elearn_test_{os.getpid()}") as url:
        yield url


@contextlib.contextmanager
def new_postgres_database(server: str, prefix: str, *, migrate: bool = False) -> Iterator[str]:
    """A new, empty PostgreSQL database on `server` (migrated if asked); dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        if migrate:
            upgrade(f"{server}/{name}")
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database the suite runs against: SQLite always, PostgreSQL when reachable."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def courses_dir(tmp_path: Path) -> Path:
    """A private copy of the small test course, safe to edit."""
    target = tmp_path / "courses"
    shutil.copytree(GOOD_COURSES, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, courses_dir: Path) -> Settings:
    """Test settings: SQLite in a temporary folder, the test course, no file watching."""
    return load_settings(
        environment="test",
        data_dir=tmp_path / "data",
        courses_dir=courses_dir,
        reload_courses=False,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client for the app, with its lifespan running."""
    app = create_app(settings, configure_logging=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[MakeClient]:
    """Build the app with some settings changed; partnerships and organisations seeded."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            app = create_app(settings.model_copy(update=overrides), configure_logging=False)
            client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
            with Session(app.state.engine) as db:
                load_partnerships(db)
                seed_demo(db)
            return client

        yield make


PASSWORD = "tiger lemon river cloud"


def csrf_token(client: TestClient) -> str:
    """The CSRF token the browser holds (a page must have been fetched first)."""
    token = client.cookies.get("elearn_csrf")
    if token is None:
        client.get("/")
        token = client.cookies.get("elearn_csrf")
    assert token is not None
    return token


def post(client: TestClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """POST a form the way a browser does: with the CSRF token, not following redirects."""
    kwargs.setdefault("follow_redirects", False)
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kwargs)


@pytest.fixture
def db(client: TestClient) -> Iterator[Session]:
    """A database session on the app's own engine."""
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        yield session


@pytest.fixture
def organisations(db: Session) -> list[Organisation]:
    """Both partnerships and the demo organisations, created by the app's own services."""
    load_partnerships(db)
    seed_demo(db)
    return list(db.exec(select(Organisation).order_by(col(Organisation.id))).all())


def new_account(
    db: Session, *, name: str, email: str, organisation_id: int | None, password: str = PASSWORD
) -> User:
    """An account made by the sign-up service, its address then marked confirmed (setup for
    tests of what comes after signing up)."""
    accounts.sign_up(db, name=name, email=email, password=password, organisation_id=organisation_id)
    user = db.exec(select(User).where(User.email == accounts.normalise_email(email))).one()
    user.email_confirmed_at = utcnow()
    db.add(user)
    db.commit()
    db.refresh(user)
    return user


def confirmation_token(client: TestClient, email: str, *, after: int = 0) -> str:
    """The token of the newest address-confirmation link emailed to `email` (looking only at
    emails after the first `after`)."""
    return confirmation_token_in(client.app.state.settings, email, after=after)  # type: ignore[attr-defined]


def confirmation_token_in(settings: Settings, email: str, *, after: int = 0) -> str:
    """confirmation_token, for an app with these settings."""
    for message in reversed(written(settings)[after:]):
        if message["To"] == email and "Confirm your email" in str(message["Subject"]):
            part = message.get_body(preferencelist=("plain",))
            assert part is not None
            [token] = re.findall(r"/account/confirm/([A-Za-z0-9_-]+)", str(part.get_content()))
            return str(token)
    raise AssertionError(f"no confirmation email to {email}")


def sign_up(
    client: TestClient,
    organisation: Organisation,
    *,
    name: str = "Sam Learner",
    email: str = "sam@example.org",
    password: str = PASSWORD,
    confirm: bool = True,
) -> Any:
    """Create an account through the sign-up form and, unless asked not to, confirm the
    address from the emailed link, which signs in (the answer to that is returned)."""
    client.get("/account/sign-up")
    before = len(written(client.app.state.settings))  # type: ignore[attr-defined]
    answer = post(
        client,
        "/account/sign-up",
        {"name": name, "email": email, "password": password, "organisation": str(organisation.id)},
    )
    if not confirm or answer.status_code != 200 or "Check your email" not in answer.text:
        return answer
    address = accounts.normalise_email(email)
    if client.app.state.settings.smtp_host:  # type: ignore[attr-defined]
        # The link went to an SMTP server: confirm in the database instead.
        with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
            user = db.exec(select(User).where(User.email == address)).one()
            user.email_confirmed_at = utcnow()
            db.add(user)
            db.commit()
        return sign_in(client, address, password)
    try:
        token = confirmation_token(client, address, after=before)
    except AssertionError:  # the address had an account: its owner was emailed instead
        return answer
    return post(client, f"/account/confirm/{token}")


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the form."""
    client.get("/account/sign-in")
    return post(client, "/account/sign-in", {"email": email, "password": password})


@pytest.fixture
def learner(client: TestClient, organisations: list[Organisation]) -> TestClient:
    """The client, signed in as a new learner enrolled on the sample course's alpha track."""
    response = sign_up(client, organisations[0])
    assert response.status_code == 303, response.text
    assert post(client, "/courses/sample/alpha/enrol").status_code == 303
    return client


@functools.cache
def _sample_option_texts() -> dict[str, list[str]]:
    """The sample quiz's option texts by question id, in the YAML's order."""
    course = load_catalog(GOOD_COURSES).course("sample")
    assert course is not None and course.modules["shared-basics"].model.quiz is not None
    texts: dict[str, list[str]] = {}
    for question in course.modules["shared-basics"].model.quiz.questions:
        if question.kind == "true_false":
            texts[question.id] = ["True", "False"]
        else:
            assert question.options is not None
            texts[question.id] = [option.text for option in question.options]
    return texts


_CHOICE = re.compile(
    r'<input [^>]*id="([^"]+)" name="q-([^"]+)" type="(?:radio|checkbox)" value="([^"]*)"'
)


def quiz_form(page: str, table: dict[str, list[str]]) -> dict[str, list[str]]:
    """The form a learner sends to give these answers on a sample quiz page.

    `table` names options as the YAML does (their position, or "true"/"false"); the page's
    form values are found the way a learner finds them, by each choice's label.
    """
    texts = _sample_option_texts()
    value_by_label: dict[tuple[str, str], str] = {}
    for input_id, qid, value in _CHOICE.findall(page):
        label = re.search(rf'for="{re.escape(input_id)}">(.*?)</label>', page, re.S)
        assert label is not None, input_id
        text = html.unescape(re.sub(r"<[^>]+>", "", label.group(1))).strip()
        value_by_label[(qid, text)] = value
    asked = list(dict.fromkeys(qid for _, qid, _ in _CHOICE.findall(page)))
    form: dict[str, list[str]] = {}
    for qid in (q for q in asked if q in table):
        keys = table[qid]
        named = [
            texts[qid][["true", "false"].index(k) if k in ("true", "false") else int(k)]
            for k in keys
        ]
        form[f"q-{qid}"] = [value_by_label[(qid, text)] for text in named]
    return form
