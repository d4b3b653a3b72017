"""Sign-in and sign-up that cannot be spoofed or used to find out who has an account:
forwarded addresses, the Origin of a form, the session's own CSRF token, cached pages,
answers to sign-up, confirming an address, and what the log and the address bar can show."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from elearn.models import Organisation, User
from elearn.services import accounts
from elearn.web import ratelimit
from tests.conftest import PASSWORD, MakeClient, csrf_token, post, sign_in, sign_up
from tests.services.conftest import use_quick_hashing


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


def app_of(client: TestClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[assignment]
    return app


def browser(of: TestClient, **kwargs: Any) -> TestClient:
    """Another browser on the same app."""
    return TestClient(app_of(of), raise_server_exceptions=False, **kwargs)


def mails(client: TestClient) -> list[email.message.EmailMessage]:
    """Emails written to DATA_DIR/mail (no SMTP server is set in the tests), oldest first."""
    folder = Path(app_of(client).state.settings.data_dir) / "mail"
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        found.append(message)
    return found


def body(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link(message: email.message.EmailMessage, prefix: str) -> str:
    [token] = re.findall(re.escape(prefix) + r"([A-Za-z0-9_-]+)", body(message))
    return str(token)


def first_org(client: TestClient, signup: str = "open", domains: str = "") -> Organisation:
    with Session(app_of(client).state.engine) as db:
        org = db.exec(select(Organisation).order_by(col(Organisation.id))).first()
        assert org is not None
        org.signup, org.email_domains = signup, domains
        db.add(org)
        db.commit()
        db.refresh(org)
        db.expunge(org)
        return org


# Forwarded addresses ------------------------------------------------------------------------


def _sign_ups_from(client: TestClient, forwarded: str) -> list[int]:
    org = first_org(client)
    codes = []
    for n in range(3):
        visitor = browser(client, client=("127.0.0.1", 40000 + n))
        visitor.get("/account/sign-up")
        codes.append(
            post(
                visitor,
                "/account/sign-up",
                {
                    "name": "Kit Person",
                    "email": f"kit{n}@example.org",
                    "password": PASSWORD,
                    "organisation": str(org.id),
                },
                headers={"x-forwarded-for": f"203.0.113.{n}, {forwarded}"},
            ).status_code
        )
    return codes


def test_forwarded_addresses_from_loopback_are_ignored_by_default(
    make_client: MakeClient,
) -> None:
    client = make_client(sign_ups_per_address_per_hour=2)
    # Each claims to be someone else; all come from 127.0.0.1, which is one address.
    assert _sign_ups_from(client, "198.51.100.1") == [200, 200, 429]


def test_forwarded_addresses_are_believed_from_a_trusted_proxy(make_client: MakeClient) -> None:
    client = make_client(sign_ups_per_address_per_hour=2, trusted_proxies="127.0.0.0/8, 10.0.0.9")
    # The last hop not a trusted proxy is the client: three different people.
    assert _sign_ups_from(client, "10.0.0.9") == [200, 200, 200]


def test_a_bad_trusted_proxies_setting_names_the_variable(settings: Any) -> None:
    from elearn.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="ELEARN_TRUSTED_PROXIES"):
        load_settings(trusted_proxies="10.0.0.1, not-an-address")


def test_client_address_skips_every_trusted_hop(client: TestClient) -> None:
    from starlette.requests import Request

    app = app_of(client)
    app.state.settings = app.state.settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})

    def address(peer: str, *forwarded: str) -> str:
        headers = [(b"x-forwarded-for", f.encode()) for f in forwarded]
        scope = {"type": "http", "app": app, "client": (peer, 1), "headers": headers}
        return ratelimit.client_address(Request(scope))

    assert address("10.1.2.3", "192.0.2.7, 10.0.0.4") == "192.0.2.7"
    assert address("10.1.2.3", "6.6.6.6, 192.0.2.7", "10.0.0.4") == "192.0.2.7"
    assert address("192.0.2.50", "192.0.2.7") == "192.0.2.50"  # not from a proxy
    assert address("10.1.2.3") == "10.1.2.3"


# Where a form comes from --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        ({}, True),  # a client that is not a browser
        ({"origin": "http://testserver"}, True),
        ({"origin": "https://evil.example"}, False),
        ({"origin": "null"}, False),
        ({"sec-fetch-site": "same-origin"}, True),
        ({"sec-fetch-site": "cross-site"}, False),
        ({"sec-fetch-site": "same-site"}, False),
        ({"referer": "http://testserver/account/sign-in"}, True),
        ({"referer": "https://evil.example/page"}, False),
        ({"origin": "http://testserver", "sec-fetch-site": "same-origin"}, True),
    ],
)
def test_a_form_from_another_site_is_refused(
    client: TestClient, organisations: list[Organisation], headers: dict[str, str], accepted: bool
) -> None:
    client.get("/account/sign-in")
    response = post(
        client,
        "/account/sign-in",
        {"email": "nobody@example.org", "password": "whatever it is"},
        headers=headers,
    )
    if accepted:
        assert response.status_code == 400  # checked, and the password did not match
    else:
        assert response.status_code == 403
        assert "another website" in response.text and "Traceback" not in response.text


def test_signed_in_forms_need_the_sessions_own_token(
    client: TestClient, organisations: list[Organisation]
) -> None:
    assert sign_up(client, organisations[0]).status_code == 303
    session_token = csrf_token(client)
    # Someone who can plant cookies sets a token of their own and sends it back: refused.
    client.cookies.set("elearn_csrf", "planted-token-of-the-attackers-choosing")
    forged = client.post(
        "/account/sign-out",
        data={"csrf_token": "planted-token-of-the-attackers-choosing"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert client.get("/learning", follow_redirects=False).status_code == 200
    # The page shows the session's token, and that is the one that works.
    page = client.get("/account").text
    assert f'name="csrf_token" value="{session_token}"' in page
    done = client.post(
        "/account/sign-out", data={"csrf_token": session_token}, follow_redirects=False
    )
    assert done.status_code == 303


def test_a_cached_page_gives_each_visitor_their_own_token(client: TestClient) -> None:
    for _ in range(2):
        visitor = browser(client)
        for path in ("/", "/accessibility"):
            page = visitor.get(path).text
            token = visitor.cookies.get("elearn_csrf")
            assert token and f'"X-CSRF-Token": "{token}"' in page, path


# Sign-up and enumeration --------------------------------------------------------------------


def _sign_up(client: TestClient, org: Organisation, email_address: str, name: str) -> Any:
    visitor = browser(client)
    visitor.get("/account/sign-up")
    return visitor, post(
        visitor,
        "/account/sign-up",
        {"name": name, "email": email_address, "password": PASSWORD, "organisation": str(org.id)},
    )


@pytest.mark.parametrize("rule", ["open", "domain"])
def test_signing_up_with_a_taken_address_answers_as_for_a_new_one(
    make_client: MakeClient, rule: str
) -> None:
    client = make_client()
    org = first_org(client, rule, "riverside.example")
    visitor, new = _sign_up(client, org, "sam@riverside.example", "Sam Learner")
    [confirm] = mails(client)
    assert post(visitor, f"/account/confirm/{link(confirm, '/account/confirm/')}").is_redirect
    _, taken = _sign_up(client, org, "Sam@Riverside.example", "Someone Else")
    assert new.status_code == taken.status_code == 200
    assert "Check your email" in new.text
    assert "elearn_session" not in new.headers.get("set-cookie", "")
    assert "elearn_session" not in taken.headers.get("set-cookie", "")

    def main(page: str) -> str:
        return re.sub(r'value="[^"]*"|"X-CSRF-Token": "[^"]*"', "", page.split("<main", 1)[1])

    assert main(new.text) == main(taken.text)
    first, second = mails(client)
    assert first["To"] == second["To"] == "sam@riverside.example"
    assert "Confirm your email address" in first["Subject"]
    assert "tried to create an account" in second["Subject"]
    assert "/account/forgot" in body(second) and "/account/confirm/" not in body(second)
    with Session(app_of(client).state.engine) as db:
        [user] = db.exec(select(User).where(User.email == "sam@riverside.example")).all()
        assert user.name == "Sam Learner"
    assert sign_in(browser(client), "sam@riverside.example").status_code == 303  # unchanged


def test_a_second_sign_up_before_confirming_replaces_the_first(
    client: TestClient, organisations: list[Organisation]
) -> None:
    _, first = _sign_up(client, organisations[0], "kim@example.org", "Someone Else")
    visitor, second = _sign_up(client, organisations[1], "kim@example.org", "Kim Owner")
    assert first.status_code == second.status_code == 200
    old, new = mails(client)
    assert (
        post(browser(client), f"/account/confirm/{link(old, '/account/confirm/')}").status_code
        == 404
    )
    confirmed = post(visitor, f"/account/confirm/{link(new, '/account/confirm/')}")
    assert confirmed.status_code == 303 and "Hello Kim Owner" in visitor.get("/learning").text
    with Session(app_of(client).state.engine) as db:
        [user] = db.exec(select(User).where(User.email == "kim@example.org")).all()
        assert (user.name, user.organisation_id) == ("Kim Owner", organisations[1].id)


@pytest.mark.parametrize(
    ("rule", "address"), [("open", "jo@example.org"), ("domain", "jo@riverside.example")]
)
def test_every_sign_up_confirms_the_address_once_before_it_is_used(
    make_client: MakeClient, rule: str, address: str
) -> None:
    client = make_client()
    org = first_org(client, rule, "riverside.example")
    visitor, answer = _sign_up(client, org, address, "Jo Newcomer")
    assert answer.status_code == 200 and "Check your email" in answer.text
    assert "elearn_session" not in answer.headers.get("set-cookie", "")
    refused = sign_in(browser(client), address)
    assert refused.status_code == 400 and "Confirm your email address first" in refused.text
    [mail] = mails(client)
    token = link(mail, "/account/confirm/")
    page = visitor.get(f"/account/confirm/{token}")
    assert page.status_code == 200 and "Confirm and sign in" in page.text
    confirmed = post(visitor, f"/account/confirm/{token}")
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/learning"
    assert "Hello Jo Newcomer" in visitor.get("/learning").text
    assert sign_in(browser(client), address).status_code == 303
    again = browser(client)
    assert again.get(f"/account/confirm/{token}").status_code == 404
    assert post(again, f"/account/confirm/{token}").status_code == 404
    assert again.get("/account/confirm/not-a-real-token").status_code == 404


# What the log and the address bar show ------------------------------------------------------


def test_no_link_is_ever_logged(
    client: TestClient, organisations: list[Organisation], caplog: pytest.LogCaptureFixture
) -> None:
    assert sign_up(client, organisations[0]).status_code == 303
    caplog.set_level(logging.DEBUG)
    settings = app_of(client).state.settings
    with Session(app_of(client).state.engine) as db:
        accounts.request_password_reset(db, email="sam@example.org", settings=settings)
    mail = mails(client)[-1]
    token = link(mail, "/account/reset/")
    logged = [r for r in caplog.records if r.name == "elearn.mail"]
    assert logged
    for record in logged:
        text = repr(record.__dict__)
        assert token not in text and "/account/reset/" not in text
        assert "sam@example.org" not in text and "s***@e***.org" in text


def test_production_does_not_start_without_a_mail_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from elearn.certificates import signing
    from elearn.cli import app

    for name, value in {
        "ELEARN_ENVIRONMENT": "production",
        "ELEARN_SECRET_KEY": "a-long-random-production-secret-for-the-tests-0123456789",
        "ELEARN_SIGNING_KEYS": f'{{"nottinghamshire": "{signing.generate_private_key_text()}"}}',
        "ELEARN_BASE_URL": "https://learn.example",
        "ELEARN_DATA_DIR": str(tmp_path),
        "ELEARN_SMTP_HOST": "",
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "ELEARN_SMTP_HOST must be set in production" in result.output


def test_no_page_shows_text_from_the_address_bar(client: TestClient) -> None:
    planted = "Your-account-is-locked-call-0800-000"
    for path in (
        f"/account/sign-in?notice={planted}",
        f"/account/sign-in?reason={planted}",
        f"/account?notice={planted}",
        f"/account/sign-in?next=/x&notice={planted}&reason={planted}",
    ):
        page = client.get(path)
        assert planted not in page.text, path


def test_the_server_does_not_let_uvicorn_believe_forwarded_headers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, courses_dir: Path
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from elearn.cli import app

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda application, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("ELEARN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ELEARN_COURSES_DIR", str(courses_dir))
    monkeypatch.setenv("ELEARN_RELOAD_COURSES", "false")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is False and seen["forwarded_allow_ips"] == ""
