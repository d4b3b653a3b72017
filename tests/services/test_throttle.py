"""Sign-in throttling under parallel attempts, on each database: no more passwords are
checked than the limit allows, the owner is slowed rather than locked out, and a reset link
opens signing in again."""

from __future__ import annotations

import email
import email.policy
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from elearn.config import Settings, load_settings
from elearn.db import make_engine, upgrade
from elearn.errors import FormError, TooManyAttempts
from elearn.models import Organisation, Partnership
from elearn.services import accounts, throttle
from tests.conftest import PASSWORD, new_account


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sam() -> str:
    """A new address each test: PostgreSQL keeps one database for the whole run."""
    return f"sam.{uuid.uuid4().hex[:8]}@example.org"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(environment="test", data_dir=tmp_path / "data", database_url=database_url)


def _account(engine: Engine, email: str) -> None:
    with Session(engine) as db:
        if db.get(Partnership, "p") is None:
            db.add(Partnership(id="p", name="P", short_name="P"))
            db.flush()
        org = Organisation(partnership_id="p", name="Org", sector="education")
        db.add(org)
        db.commit()
        new_account(db, name="Sam Learner", email=email, password=PASSWORD, organisation_id=org.id)


class CountingChecks:
    """Counts password checks made by accounts.authenticate, from any thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        real = accounts.verify_password

        def counted(password_hash: str, password: str) -> bool:
            with self._lock:
                self.count += 1
            return real(password_hash, password)

        monkeypatch.setattr(accounts, "verify_password", counted)


def _attempt(
    engine: Engine, settings: Settings, email: str, password: str, address: int = 7
) -> str:
    with Session(engine) as db:
        try:
            accounts.authenticate(
                db,
                email=email,
                password=password,
                address=f"198.51.100.{address}",
                settings=settings,
            )
        except FormError:
            return "wrong"
        except TooManyAttempts:
            return "paused"
        return "signed in"


def test_forty_parallel_guesses_check_no_more_passwords_than_the_limit(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, sam: str
) -> None:
    _account(engine, sam)
    checks = CountingChecks(monkeypatch)
    start = threading.Barrier(40)

    def guess(n: int) -> str:
        start.wait()
        return _attempt(engine, settings, sam, f"guess number {n}")

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(guess, range(40)))
    limit = settings.login_failures_per_account
    assert checks.count <= limit
    assert answers.count("wrong") == checks.count and answers.count("paused") == 40 - checks.count
    # The right password waits its turn too: guessing cannot be sped up by racing.
    assert _attempt(engine, settings, sam, PASSWORD) == "paused"
    assert checks.count <= limit


def test_waits_grow_and_the_owner_is_never_locked_out(engine: Engine) -> None:
    limit = throttle.Limit(f"account:{uuid.uuid4().hex}", free=3, longest=15 * 60)
    now = 1_000_000
    for _ in range(3):
        throttle.claim(engine, [limit], now=now)
    waits = []
    for _ in range(6):
        with pytest.raises(throttle.Refused) as refused:
            throttle.claim(engine, [limit], now=now)
        waits.append(refused.value.wait_seconds)
        now += refused.value.wait_seconds
        throttle.claim(engine, [limit], now=now)  # allowed once the wait is over
    assert waits == [60, 120, 240, 480, 900, 900]
    # A refused attempt does not count: asking again at once changes nothing.
    for _ in range(3):
        with pytest.raises(throttle.Refused) as refused:
            throttle.claim(engine, [limit], now=now)
        assert refused.value.wait_seconds == 900
    # A day later the count starts again.
    for _ in range(3):
        throttle.claim(engine, [limit], now=now + 900 + throttle.FORGET_AFTER + 1)


def test_the_right_password_and_a_reset_link_both_open_signing_in_again(
    engine: Engine, settings: Settings, sam: str
) -> None:
    _account(engine, sam)
    for _ in range(settings.login_failures_per_account):
        assert _attempt(engine, settings, sam, "not it at all") == "wrong"
    assert _attempt(engine, settings, sam, PASSWORD) == "paused"
    with Session(engine) as db:
        accounts.request_password_reset(db, email=sam, settings=settings)
    [mail] = sorted((settings.data_dir / "mail").glob("*.eml"))
    body = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    token = str(body.get_body().get_content()).split("/account/reset/")[1].split()[0]
    with Session(engine) as db:
        accounts.complete_password_reset(db, token=token, password="harbour violet engine moss")
    assert _attempt(engine, settings, sam, "harbour violet engine moss") == ("signed in")
    # Signing in cleared the count: the owner has every free attempt again.
    for _ in range(settings.login_failures_per_account):
        assert _attempt(engine, settings, sam, "not it at all") == "wrong"


def test_one_address_guessing_many_accounts_is_slowed_too(
    engine: Engine, settings: Settings
) -> None:
    tight = settings.model_copy(update={"login_failures_per_address": 3})
    for n in range(3):
        guessed = f"guess{n}.{uuid.uuid4().hex[:6]}@example.org"
        assert _attempt(engine, tight, guessed, "password guess", address=99) == "wrong"
    assert _attempt(engine, tight, "someone@example.org", "password guess", address=99) == "paused"
    assert _attempt(engine, tight, "someone@example.org", "password guess", address=98) == "wrong"
