"""A real SMTP server for the tests (aiosmtpd), and helpers the service tests share."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def use_quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for the tests' many accounts: the same code paths and hash
    format, in a fraction of the time (the production parameters are not under test here)."""
    from argon2 import PasswordHasher

    from elearn.services import passwords

    if hasattr(passwords, "_hasher"):
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        monkeypatch.setattr(passwords, "_hasher", cheap)


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Delivered:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool  # whether the session had switched to TLS (STARTTLS) before DATA

    @property
    def body(self) -> str:
        """The plain-text body, decoded."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        text: str = part.get_content()
        return text

    def link(self, path_prefix: str) -> str:
        """The one link in the body whose path starts with path_prefix; returns its token."""
        found = re.findall(
            r"https?://[^/\s]+" + re.escape(path_prefix) + r"([A-Za-z0-9_-]+)", self.body
        )
        assert len(found) == 1, self.body
        token: str = found[0]
        return token


@dataclass
class _Collector:
    messages: list[Delivered] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        tls = session.ssl is not None
        self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message, tls))
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 and a free port that keeps every message it receives."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._collector = _Collector()
        extra: dict[str, Any] = {"tls_context": tls_context} if tls_context else {}
        self._controller = Controller(self._collector, hostname=self.host, port=self.port, **extra)

    @property
    def messages(self) -> list[Delivered]:
        """Messages received so far, oldest first."""
        return self._collector.messages

    def to(self, address: str, subject: str = "") -> list[Delivered]:
        """Messages addressed to one recipient (whose subject contains `subject`)."""
        return [
            m
            for m in self.messages
            if address in m.rcpt_tos and subject in str(m.message["Subject"])
        ]

    def settings(self) -> dict[str, object]:
        """Settings overrides that send the app's mail here."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_starttls": False}

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A running SMTP server that collects messages."""
    with SmtpSink() as sink:
        yield sink


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a throwaway self-signed certificate (needs openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def smtp_tls(tmp_path: Path) -> Iterator[SmtpSink]:
    """A running SMTP server that offers STARTTLS (and collects messages)."""
    with SmtpSink(self_signed_context(tmp_path)) as sink:
        yield sink


@pytest.fixture
def any_db(settings: Any, database_url: str) -> Iterator[Any]:
    """A client for an app on each database (SQLite, and PostgreSQL when reachable),
    migrated, with the partnerships and demo organisations in place."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session

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
