"""When the database refuses, hangs or is locked, pages answer a calm 503 quickly, and the
service comes back by itself when the database does, with nothing half-saved."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session, col, select

from elearn.app import create_app
from elearn.config import Settings
from elearn.models import ModuleCompletion, Organisation, QuizAttempt, User
from elearn.services.demo import seed_demo
from elearn.services.partnerships import load_partnerships
from tests.conftest import (
    PASSWORD,
    MakeClient,
    confirmation_token_in,
    new_postgres_database,
    post,
    quiz_form,
    sign_up,
)
from tests.services.conftest import use_quick_hashing

UNAVAILABLE = "This service is temporarily unavailable"
PG = ("127.0.0.1", 5432)
CORRECT = {"q1": ["0"], "q2": ["0", "1"], "q3": ["false"]}
QUIZ = "/courses/sample/alpha/shared-basics/quiz"


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


class Proxy:
    """A TCP proxy in front of PostgreSQL that can forward, refuse, or swallow connections."""

    def __init__(self) -> None:
        self.mode = "forward"
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.port = 0
        self._listen()

    def _listen(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            self._keep(client)
            if self.mode != "forward":
                continue  # accepted, and never answered
            try:
                upstream = socket.create_connection(PG, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._keep(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _keep(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            _close(sock)

    def _drop_connections(self) -> None:
        with self.lock:
            for sock in self.sockets:
                _close(sock)
            self.sockets.clear()

    def refuse(self) -> None:
        """Nothing listens: every connection is refused, and open ones are cut."""
        self.mode = "refuse"
        if self.listener is not None:
            _close(self.listener)
            self.listener = None
        self._drop_connections()

    def black_hole(self) -> None:
        """As after a failover gone wrong: open connections are cut, new ones are accepted
        and then nothing is ever answered."""
        self.mode = "black-hole"
        self._drop_connections()
        if self.listener is None:
            self._listen()

    def forward(self) -> None:
        """The database is back."""
        self.mode = "forward"
        self._drop_connections()
        if self.listener is None:
            self._listen()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def own_database(postgres_url: str) -> Iterator[str]:
    """A database of this test's own, migrated; its URL."""
    server = postgres_url.rpartition("/")[0]
    with new_postgres_database(server, "elearn_outage", migrate=True) as url:
        yield url


class Served:
    """The app served by uvicorn on a free port, and a browser-like client with a timeout."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings, configure_logging=False)
        sock = socket.create_server(("127.0.0.1", 0))
        config = uvicorn.Config(self.app, log_level="critical", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        # A request that hangs fails the test here instead of blocking it.
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.client = httpx.Client(base_url=base, timeout=10, follow_redirects=False)

    def post(self, url: str, data: dict[str, Any]) -> httpx.Response:
        """POST a form with the CSRF token, as the browser does."""
        if "elearn_csrf" not in self.client.cookies:
            self.client.get("/health")
        token = self.client.cookies["elearn_csrf"]
        return self.client.post(url, data={"csrf_token": token, **data})

    def sign_up(self, organisation_id: int, email: str, name: str) -> httpx.Response:
        """Create an account through the form and confirm it from the emailed link (which
        signs in); the first answer that is not "Check your email" is returned."""
        data = {"name": name, "email": email, "password": PASSWORD}
        answer = self.post("/account/sign-up", {**data, "organisation": str(organisation_id)})
        if answer.status_code != 200:
            return answer
        token = confirmation_token_in(self.app.state.settings, email)
        return self.post(f"/account/confirm/{token}", {})

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    running = Proxy()
    yield running
    running.refuse()


@pytest.fixture
def served(own_database: str, proxy: Proxy, settings: Settings) -> Iterator[tuple[Served, int]]:
    """The app on the database through the proxy, and the id of an open organisation."""
    url = own_database.replace(f"{PG[0]}:{PG[1]}", f"127.0.0.1:{proxy.port}")
    assert url != own_database
    running = Served(
        settings.model_copy(
            update={
                "database_url": url,
                "database_connect_timeout_seconds": 2,
                "database_statement_timeout_seconds": 2,
            }
        )
    )
    with Session(running.app.state.engine) as db:
        load_partnerships(db)
        seed_demo(db)
        organisation = db.exec(select(Organisation).order_by(col(Organisation.id))).first()
        assert organisation is not None and organisation.id is not None
        organisation_id = organisation.id
    yield running, organisation_id
    running.stop()


def assert_unavailable(response: httpx.Response, *, name: str = "Sam Before") -> None:
    assert response.status_code == 503, response.text
    assert UNAVAILABLE in response.text
    assert response.headers["retry-after"].isdigit()
    assert "Traceback" not in response.text and "psycopg" not in response.text
    assert name not in response.text and "Sign out" not in response.text


def assert_outage_is_calm(app: Served, organisation_id: int) -> None:
    """Every kind of request gets its 503 (none hangs: the client would time out)."""
    assert_unavailable(app.client.get("/learning"))
    as_json = app.client.get("/learning", headers={"accept": "application/json"})
    assert as_json.status_code == 503
    assert as_json.json()["error"] == UNAVAILABLE
    health = app.client.get("/health")
    assert health.status_code == 503 and health.json()["database"] == "unavailable"
    assert health.json()["content"]["modules"] == 2
    app.client.cookies.delete("elearn_session")
    assert_unavailable(app.sign_up(organisation_id, "during@example.org", "Dee During"))


def assert_back_with_nothing_lost(app: Served, session_cookie: str) -> None:
    """Within seconds the service answers again: the earlier account and its session are
    there, and the sign-up tried during the outage left no account behind."""
    deadline = time.monotonic() + 15
    while app.client.get("/health").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    app.client.cookies.set("elearn_session", session_cookie)
    page = app.client.get("/learning")
    assert page.status_code == 200 and "Sam Before" in page.text
    with Session(app.app.state.engine) as db:
        emails = set(db.exec(select(User.email)).all())
    assert "before@example.org" in emails and "during@example.org" not in emails


def test_refused_connections_answer_503_and_service_returns(
    served: tuple[Served, int], proxy: Proxy
) -> None:
    app, organisation_id = served
    assert app.sign_up(organisation_id, "before@example.org", "Sam Before").status_code == 303
    cookie = app.client.cookies["elearn_session"]
    assert app.client.get("/learning").status_code == 200

    proxy.refuse()
    assert_outage_is_calm(app, organisation_id)

    proxy.forward()
    assert_back_with_nothing_lost(app, cookie)


def test_a_database_that_never_answers_gets_503_not_a_hang(
    served: tuple[Served, int], proxy: Proxy
) -> None:
    app, organisation_id = served
    assert app.sign_up(organisation_id, "before@example.org", "Sam Before").status_code == 303
    cookie = app.client.cookies["elearn_session"]

    proxy.black_hole()
    assert_outage_is_calm(app, organisation_id)
    health = app.client.get("/health")  # while a check may still be waiting
    assert health.status_code == 503

    proxy.forward()
    assert_back_with_nothing_lost(app, cookie)


def test_a_quiz_cut_off_mid_way_records_nothing_and_can_be_sent_again(
    own_database: str, make_client: MakeClient
) -> None:
    client = make_client(database_url=own_database, database_statement_timeout_seconds=1)
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        organisation = db.exec(select(Organisation).order_by(col(Organisation.id))).first()
    assert organisation is not None
    assert sign_up(client, organisation).status_code == 303
    assert post(client, "/courses/sample/alpha/enrol").status_code == 303
    url = post(client, QUIZ).headers["location"]
    form = quiz_form(client.get(url).text, CORRECT)

    # The attempt's score is written, then recording the completion waits on a lock
    # until the statement times out.
    locker = create_engine(own_database)
    with locker.connect() as conn:
        conn.execute(text("LOCK TABLE modulecompletion IN ACCESS EXCLUSIVE MODE"))
        cut_off = post(client, url, form)
        conn.rollback()
    locker.dispose()
    assert cut_off.status_code == 503 and UNAVAILABLE in cut_off.text
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        attempt = db.get(QuizAttempt, int(url.rsplit("/", 1)[1]))
        assert attempt is not None and (attempt.submitted_at, attempt.score) == (None, None)
        assert db.exec(select(ModuleCompletion)).all() == []

    sent_again = post(client, url, form, follow_redirects=True)
    assert sent_again.status_code == 200 and "You scored 100%" in sent_again.text


def test_a_locked_sqlite_database_gives_503_then_recovers(
    make_client: MakeClient, settings: Settings
) -> None:
    client = make_client(database_statement_timeout_seconds=1)
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        organisations = list(db.exec(select(Organisation).order_by(col(Organisation.id))))
    path: Path = settings.data_dir / "elearn.sqlite3"
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    locked = sign_up(client, organisations[0], email="locked@example.org")
    holder.rollback()
    holder.close()
    assert locked.status_code == 503 and UNAVAILABLE in locked.text
    assert "Traceback" not in locked.text and locked.headers["retry-after"].isdigit()

    assert sign_up(client, organisations[0], email="locked@example.org").status_code == 303
    assert client.get("/learning").status_code == 200


def test_a_database_bug_is_still_an_error_with_an_id_not_an_outage(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE authsession"))
    client.cookies.set("elearn_session", "anything")
    page = client.get("/learning")
    assert page.status_code == 500 and UNAVAILABLE not in page.text
