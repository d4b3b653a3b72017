"""Accounts over HTTP: sign-up, sign-in and its throttling, sessions and cookies, password
changes and resets (through a real SMTP server) and invitations."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from elearn.app import create_app
from elearn.certificates import signing
from elearn.config import Settings, SettingsError, load_settings
from elearn.models import (
    AuthSession,
    Invitation,
    Organisation,
    PasswordReset,
    Team,
    User,
)
from elearn.services import accounts
from elearn.services.demo import seed_demo
from elearn.services.partnerships import load_partnerships
from elearn.services.tokens import token_hash
from tests.conftest import PASSWORD, MakeClient, csrf_token, post, sign_in, sign_up
from tests.services.conftest import SmtpSink, use_quick_hashing

NEW_PASSWORD = "harbour violet engine moss"


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_hashing(monkeypatch)


# Helpers ----------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


def browser(client: TestClient, *, session: str | None = None) -> TestClient:
    """Another browser on the same app, optionally replaying a session cookie."""
    cookies = {"elearn_session": session} if session else None
    return TestClient(
        client.app, raise_server_exceptions=False, cookies=cookies, base_url=str(client.base_url)
    )


def app_of(client: TestClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[assignment]
    return app


def first_org(client: TestClient) -> Organisation:
    with Session(app_of(client).state.engine) as db:
        org = db.exec(select(Organisation).order_by(col(Organisation.id))).first()
        assert org is not None
        return org


def users(client: TestClient, email: str | None = None) -> list[User]:
    with Session(app_of(client).state.engine) as db:
        query = select(User).where(col(User.email).not_like("%.demo.example"))
        if email is not None:
            query = query.where(User.email == email)
        return list(db.exec(query).all())


def sessions_of(client: TestClient, email: str) -> list[AuthSession]:
    with Session(app_of(client).state.engine) as db:
        return list(db.exec(select(AuthSession).join(User).where(User.email == email)).all())


def signed_in(client: TestClient) -> bool:
    """Whether the browser's session is live: /learning answers instead of redirecting."""
    response = client.get("/learning", follow_redirects=False)
    if response.status_code == 200:
        return True
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/sign-in")
    return False


def field_error(page: str, field: str) -> str | None:
    """The error message shown beside a form field, or None."""
    element = field.replace("_", "-")
    found = re.search(
        rf'<p id="{element}-error" class="govuk-error-message">'
        r'<span class="govuk-visually-hidden">Error:</span>\s*(.*?)</p>',
        page,
        re.S,
    )
    if found is None:
        return None
    described = re.search(rf'id="{element}"[^>]*aria-describedby="([^"]*)"', page)
    assert described is not None and f"{element}-error" in described.group(1), (
        f"the {field} field does not point at its error"
    )
    return html.unescape(found.group(1).strip())


def input_value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert found is not None, name
    value = re.search(r'value="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else None


def set_cookies(response: Any) -> dict[str, str]:
    """Set-Cookie headers of a response, by cookie name."""
    headers: list[str] = response.headers.get_list("set-cookie")
    return {h.split("=", 1)[0]: h for h in headers}


def session_cookie(response: Any) -> str:
    header = set_cookies(response)["elearn_session"]
    value = header.split(";", 1)[0].split("=", 1)[1]
    assert value
    return value


def age(client: TestClient, email: str, **deltas: timedelta) -> None:
    """Move a person's session timestamps back, as if time had passed."""
    with Session(app_of(client).state.engine) as db:
        for row in db.exec(select(AuthSession).join(User).where(User.email == email)).all():
            for column, delta in deltas.items():
                setattr(row, column, getattr(row, column) - delta)
            db.add(row)
        db.commit()


# Sign-up ----------------------------------------------------------------------------


def test_sign_up_creates_the_account_and_signs_in(
    client: TestClient, organisations: list[Organisation]
) -> None:
    response = sign_up(client, organisations[0], name="Sam Learner", email=" Sam@Example.ORG ")
    assert response.status_code == 303 and response.headers["location"] == "/learning"
    assert "elearn_session" in set_cookies(response)
    page = client.get("/learning")
    assert page.status_code == 200 and "Hello Sam Learner" in page.text
    [user] = users(client)
    assert user.email == "sam@example.org"
    assert (user.organisation_id, user.partnership_id, user.role) == (
        organisations[0].id,
        organisations[0].partnership_id,
        "learner",
    )
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2")


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"password": "short pass"}, "password", "Password must be 12 characters or more"),
        ({"password": "passwordpassword"}, "password", "This password is too common"),
        ({"password": "sunshine2024!!"}, "password", "easy to guess"),
        ({"name": "  "}, "name", "Enter your name"),
        ({"email": "sam.example.org"}, "email", "Enter an email address in the correct format"),
        ({"organisation": ""}, "organisation", "Select your organisation"),
        ({"organisation": "999999"}, "organisation", "Select your organisation"),
    ],
)
def test_sign_up_errors_are_shown_beside_the_field_with_the_form_kept(
    client: TestClient,
    organisations: list[Organisation],
    form: dict[str, str],
    field: str,
    message: str,
) -> None:
    org = organisations[1]
    typed = {
        "name": "Sam O'Learner",
        "email": "sam@example.org",
        "password": PASSWORD,
        "organisation": str(org.id),
        **form,
    }
    client.get("/account/sign-up")
    response = post(client, "/account/sign-up", typed)
    assert response.status_code == 400
    page = response.text
    error = field_error(page, field)
    assert error is not None and message in error
    assert "There is a problem" in page and page.count("govuk-error-message") == 1
    assert input_value(page, "name") == typed["name"]
    assert input_value(page, "email") == typed["email"]
    if typed["organisation"] == str(org.id):
        assert f'<option value="{org.id}" selected>' in page
    assert input_value(page, "password") is None  # never echoed back
    assert typed["password"] not in page
    assert "elearn_session" not in set_cookies(response)
    assert users(client) == []


def test_an_invitation_only_organisation_refuses_self_sign_up(
    client: TestClient, organisations: list[Organisation], db: Session
) -> None:
    org = organisations[2]
    org.signup = "invitation"
    db.add(org)
    db.commit()
    assert f'<option value="{org.id}"' not in client.get("/account/sign-up").text
    response = sign_up(client, org)
    assert response.status_code == 400
    error = field_error(response.text, "organisation")
    assert error is not None and "by invitation" in error and org.name in error
    assert users(client) == []


def test_a_domain_organisation_needs_a_work_email(
    client: TestClient, organisations: list[Organisation], db: Session
) -> None:
    org = organisations[0]
    org.signup, org.email_domains = "domain", "riverside.example, Riverside-Academy.example"
    db.add(org)
    db.commit()
    for wrong in ("sam@gmail.example", "sam@evil.riverside.example", "sam@riverside.example.evil"):
        response = sign_up(client, org, email=wrong)
        assert response.status_code == 400, wrong
        error = field_error(response.text, "email")
        assert error is not None
        assert "@riverside.example or @riverside-academy.example" in error
    assert users(client) == []
    response = sign_up(client, org, email="Sam@Riverside-Academy.example", confirm=False)
    assert response.status_code == 200 and "Check your email" in response.text
    assert [u.email for u in users(client)] == ["sam@riverside-academy.example"]


def test_a_used_email_gets_a_neutral_message(
    client: TestClient, organisations: list[Organisation]
) -> None:
    assert sign_up(client, organisations[0]).status_code == 303
    other = browser(client)
    response = sign_up(
        other,
        organisations[1],
        name="Someone Else",
        email=" SAM@example.org",
        password=NEW_PASSWORD,
    )
    assert response.status_code == 200 and "Check your email" in response.text
    assert field_error(response.text, "email") is None
    assert "Sam Learner" not in response.text  # nothing about the existing account
    [user] = users(client)
    assert user.name == "Sam Learner" and user.organisation_id == organisations[0].id
    assert sign_in(browser(client), "sam@example.org").status_code == 303  # password unchanged
    assert sign_in(browser(client), "sam@example.org", NEW_PASSWORD).status_code == 400


# Sign-in ----------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_look_the_same(
    client: TestClient, organisations: list[Organisation]
) -> None:
    sign_up(client, organisations[0])
    post(client, "/account/sign-out")
    known = sign_in(client, "sam@example.org", "wrong password entirely")
    unknown = sign_in(client, "nobody@example.org", "wrong password entirely")
    assert known.status_code == unknown.status_code == 400
    assert field_error(known.text, "email") == field_error(unknown.text, "email")
    assert field_error(known.text, "email") == accounts.SIGN_IN_FAILED
    assert known.text.replace("sam@example.org", "@") == unknown.text.replace(
        "nobody@example.org", "@"
    )
    assert "elearn_session" not in set_cookies(known) | set_cookies(unknown)
    assert not signed_in(client)


def test_sign_in_with_the_right_password_goes_to_my_learning(
    client: TestClient, organisations: list[Organisation]
) -> None:
    sign_up(client, organisations[0])
    post(client, "/account/sign-out")
    response = sign_in(client, "  SAM@example.org ")
    assert response.status_code == 303 and response.headers["location"] == "/learning"
    assert signed_in(client)


def _paused(response: Any) -> bool:
    return response.status_code == 429 and "Sign-in is paused" in response.text


def test_a_successful_sign_in_resets_the_count(make_client: MakeClient) -> None:
    client = make_client(login_failures_per_account=3, login_failures_per_address=1000)
    sign_up(client, first_org(client))
    for _ in range(3):
        post(client, "/account/sign-out")
        for _ in range(2):
            assert sign_in(client, "sam@example.org", "not my password").status_code == 400
        assert sign_in(client, "sam@example.org").status_code == 303


def test_too_many_failures_from_one_address_pause_every_account(make_client: MakeClient) -> None:
    client = make_client(login_failures_per_account=100, login_failures_per_address=3)
    sign_up(client, first_org(client))
    post(client, "/account/sign-out")
    for n in range(3):
        assert sign_in(client, f"guess{n}@example.org", "password guess").status_code == 400
    assert _paused(sign_in(client, "sam@example.org", PASSWORD))
    assert not signed_in(client)


def test_each_sign_in_gets_a_new_session_id(
    client: TestClient, organisations: list[Organisation]
) -> None:
    seen = {session_cookie(sign_up(client, organisations[0]))}
    for _ in range(2):
        seen.add(session_cookie(sign_in(client, "sam@example.org")))
    assert len(seen) == 3
    assert signed_in(client)


def test_signing_out_ends_the_session_on_the_server(
    client: TestClient, organisations: list[Organisation]
) -> None:
    old = session_cookie(sign_up(client, organisations[0]))
    assert signed_in(browser(client, session=old))
    response = post(client, "/account/sign-out")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/sign-in")
    assert "Max-Age=0" in set_cookies(response)["elearn_session"]
    assert sessions_of(client, "sam@example.org") == []
    assert not signed_in(client)
    assert not signed_in(browser(client, session=old))  # replaying the old cookie


def test_sign_out_everywhere_ends_every_session(
    client: TestClient, organisations: list[Organisation]
) -> None:
    sign_up(client, organisations[0])
    phone = browser(client)
    sign_in(phone, "sam@example.org")
    kept = session_cookie(sign_in(browser(client), "sam@example.org"))
    sign_up(browser(client), organisations[0], name="Alex Other", email="alex@example.org")
    assert len(sessions_of(client, "sam@example.org")) == 3
    response = post(phone, "/account/sign-out-everywhere")
    assert response.status_code == 303
    assert "every device" in phone.get(response.headers["location"]).text
    assert not signed_in(phone) and not signed_in(client)
    assert not signed_in(browser(client, session=kept))
    assert sessions_of(client, "sam@example.org") == []
    assert len(sessions_of(client, "alex@example.org")) == 1  # nobody else's


def test_changing_the_password_needs_the_current_one(
    client: TestClient, organisations: list[Organisation]
) -> None:
    sign_up(client, organisations[0])
    client.get("/account")
    wrong = post(
        client,
        "/account/password",
        {"current_password": "not the password", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 400
    assert field_error(wrong.text, "current_password") == "Your current password is not right"
    assert NEW_PASSWORD not in wrong.text
    weak = post(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "short"},
    )
    assert weak.status_code == 400
    error = field_error(weak.text, "new_password")
    assert error is not None and "12 characters" in error
    assert sign_in(browser(client), "sam@example.org", PASSWORD).status_code == 303
    assert sign_in(browser(client), "sam@example.org", NEW_PASSWORD).status_code == 400


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    client: TestClient, organisations: list[Organisation]
) -> None:
    sign_up(client, organisations[0])
    laptop = browser(client)
    sign_in(laptop, "sam@example.org")
    client.get("/account")
    response = post(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert "Your password has been changed" in client.get(response.headers["location"]).text
    assert signed_in(client)
    assert not signed_in(laptop)
    assert len(sessions_of(client, "sam@example.org")) == 1
    assert sign_in(browser(client), "sam@example.org", PASSWORD).status_code == 400
    assert sign_in(browser(client), "sam@example.org", NEW_PASSWORD).status_code == 303


def test_an_idle_session_times_out(client: TestClient, organisations: list[Organisation]) -> None:
    sign_up(client, organisations[0])
    idle = app_of(client).state.settings.session_idle_minutes
    age(client, "sam@example.org", last_seen_at=timedelta(minutes=idle - 2))
    assert signed_in(client)  # still inside the window, and renewed
    age(client, "sam@example.org", last_seen_at=timedelta(minutes=idle - 2))
    assert signed_in(client)
    age(client, "sam@example.org", last_seen_at=timedelta(minutes=idle + 1))
    response = client.get("/learning", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/sign-in?next=/learning&reason=timeout"
    assert sessions_of(client, "sam@example.org") == []


def test_a_session_ends_after_the_absolute_limit_however_active(
    client: TestClient, organisations: list[Organisation]
) -> None:
    sign_up(client, organisations[0])
    hours = app_of(client).state.settings.session_absolute_hours
    age(client, "sam@example.org", created_at=timedelta(hours=hours, minutes=1))
    assert not signed_in(client)
    assert sessions_of(client, "sam@example.org") == []


def test_tiny_timeouts_from_settings(make_client: MakeClient) -> None:
    client = make_client(session_idle_minutes=1, session_absolute_hours=1)
    response = sign_up(client, first_org(client))
    assert "Max-Age=3600" in set_cookies(response)["elearn_session"]
    age(client, "sam@example.org", last_seen_at=timedelta(seconds=61))
    assert not signed_in(client)


def test_cookies_are_httponly_and_samesite_lax(
    client: TestClient, organisations: list[Organisation]
) -> None:
    first = client.get("/")
    signed = sign_up(client, organisations[0])
    out = post(client, "/account/sign-out")
    for response in (first, signed, out):
        for name, header in set_cookies(response).items():
            parts = [p.strip() for p in header.split(";")]
            assert "HttpOnly" in parts and "SameSite=Lax" in parts, header
            assert "Path=/" in parts, header
            assert "Secure" not in parts, f"{name} is Secure outside production"
    hours = app_of(client).state.settings.session_absolute_hours
    assert f"Max-Age={hours * 3600}" in set_cookies(signed)["elearn_session"]


def test_cookies_are_secure_in_production(settings: Settings, smtp: SmtpSink) -> None:
    with pytest.raises(SettingsError, match="ELEARN_SECRET_KEY"):
        load_settings(environment="production", data_dir=settings.data_dir)
    production = load_settings(
        environment="production",
        secret_key="a-long-random-production-secret-for-the-tests-0123456789",
        signing_keys={"nottinghamshire": signing.generate_private_key_text()},
        base_url="https://testserver",
        data_dir=settings.data_dir,
        courses_dir=settings.courses_dir,
        reload_courses=False,
        **smtp.settings(),
    )
    app = create_app(production, configure_logging=False)
    with TestClient(app, raise_server_exceptions=False, base_url="https://testserver") as client:
        with Session(app.state.engine) as db:
            load_partnerships(db)
            seed_demo(db)
        first = client.get("/")
        assert "max-age" in first.headers["strict-transport-security"]
        signed = sign_up(client, first_org(client))
        assert signed.status_code == 303
        out = post(client, "/account/sign-out")
        checked = 0
        for response in (first, signed, out):
            for header in set_cookies(response).values():
                parts = [p.strip() for p in header.split(";")]
                assert {"Secure", "HttpOnly", "SameSite=Lax"} <= set(parts), header
                checked += 1
        assert checked == 5


# Password reset, through a real SMTP server -----------------------------------------


def _forgot(client: TestClient, email: str) -> Any:
    client.get("/account/forgot")
    return post(client, "/account/forgot", {"email": email})


def test_forgot_password_answers_the_same_and_mails_only_real_accounts(
    make_client: MakeClient, smtp: SmtpSink
) -> None:
    client = make_client(**smtp.settings(), base_url="https://learn.example")
    sign_up(client, first_org(client))
    stranger = browser(client)
    known = _forgot(stranger, "Sam@Example.org")
    unknown = _forgot(stranger, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert "Check your email" in known.text
    assert known.text.replace("Sam@Example.org", "@") == unknown.text.replace(
        "nobody@example.org", "@"
    )
    assert smtp.to("nobody@example.org") == []
    [mail] = [m for m in smtp.messages if "Confirm" not in str(m.message["Subject"])]
    assert mail.rcpt_tos == ["sam@example.org"]
    assert mail.message["Subject"] == "Reset your password"
    assert "https://learn.example/account/reset/" in mail.body
    token = mail.link("/account/reset/")
    with Session(app_of(client).state.engine) as db:
        reset = db.get(PasswordReset, token_hash(token))
        assert reset is not None and reset.used_at is None
        assert (
            db.exec(select(PasswordReset).where(PasswordReset.token_hash == token)).first() is None
        )


def test_reset_emails_to_one_account_are_capped_without_saying_so(
    make_client: MakeClient, smtp: SmtpSink
) -> None:
    client = make_client(**smtp.settings(), reset_emails_per_account_per_hour=2)
    sign_up(client, first_org(client))
    stranger = browser(client)
    pages = [_forgot(stranger, "sam@example.org") for _ in range(4)]
    assert [p.status_code for p in pages] == [200] * 4
    assert len({p.text for p in pages}) == 1  # the fourth looks like the first
    assert len(smtp.to("sam@example.org", "Reset your password")) == 2


def test_one_address_asking_for_many_resets_is_paused_and_keeps_what_was_typed(
    make_client: MakeClient, smtp: SmtpSink
) -> None:
    client = make_client(**smtp.settings(), reset_requests_per_address_per_hour=3)
    for i in range(3):
        assert _forgot(client, f"person{i}@example.org").status_code == 200
    paused = _forgot(client, "person3@example.org")
    assert paused.status_code == 429
    assert "Please wait 60 minutes and try again" in paused.text
    assert input_value(paused.text, "email") == "person3@example.org"


def test_one_address_creating_many_accounts_is_paused_and_keeps_what_was_typed(
    make_client: MakeClient,
) -> None:
    client = make_client(sign_ups_per_address_per_hour=2)
    org = first_org(client)
    for i in range(2):
        assert sign_up(browser(client), org, email=f"new{i}@example.org").status_code == 303
    paused = sign_up(browser(client), org, name="Kit Third", email="new2@example.org")
    assert paused.status_code == 429
    assert "Please wait 60 minutes and try again" in paused.text
    assert input_value(paused.text, "name") == "Kit Third"
    assert input_value(paused.text, "email") == "new2@example.org"
    with Session(app_of(client).state.engine) as db:
        assert db.exec(select(User).where(User.email == "new2@example.org")).first() is None


def test_a_badly_typed_email_is_asked_again(client: TestClient) -> None:
    response = _forgot(client, "not an email")
    assert response.status_code == 400
    error = field_error(response.text, "email")
    assert error is not None and "correct format" in error
    assert input_value(response.text, "email") == "not an email"


def test_a_reset_link_works_once_and_ends_every_session(
    make_client: MakeClient, smtp: SmtpSink
) -> None:
    client = make_client(**smtp.settings())
    sign_up(client, first_org(client))
    tablet = browser(client)
    sign_in(tablet, "sam@example.org")
    stranger = browser(client)
    _forgot(stranger, "sam@example.org")
    token = smtp.to("sam@example.org", "Reset your password")[0].link("/account/reset/")
    url = f"/account/reset/{token}"
    page = stranger.get(url)
    assert page.status_code == 200 and "Choose a new password" in page.text
    weak = post(stranger, url, {"password": "too short"})
    assert weak.status_code == 400
    assert "12 characters" in (field_error(weak.text, "password") or "")
    done = post(stranger, url, {"password": NEW_PASSWORD})
    assert done.status_code == 303
    assert "Your password has been changed" in stranger.get(done.headers["location"]).text
    assert not signed_in(client) and not signed_in(tablet)
    assert sessions_of(client, "sam@example.org") == []
    assert sign_in(browser(client), "sam@example.org", PASSWORD).status_code == 400
    assert sign_in(browser(client), "sam@example.org", NEW_PASSWORD).status_code == 303
    # The link is spent.
    for again in (stranger.get(url), post(stranger, url, {"password": "another fine passphrase"})):
        assert again.status_code == 404
        assert "already been used" in again.text and "Traceback" not in again.text
    assert sign_in(browser(client), "sam@example.org", NEW_PASSWORD).status_code == 303


def test_using_a_reset_link_cancels_the_older_ones(make_client: MakeClient, smtp: SmtpSink) -> None:
    """Once the password has been reset, an older link from the same inbox must not reset it
    again (each link "works once", and the reset is the point of all of them)."""
    client = make_client(**smtp.settings())
    sign_up(client, first_org(client))
    stranger = browser(client)
    _forgot(stranger, "sam@example.org")
    _forgot(stranger, "sam@example.org")
    older, newer = (
        m.link("/account/reset/") for m in smtp.to("sam@example.org", "Reset your password")
    )
    assert post(stranger, f"/account/reset/{newer}", {"password": NEW_PASSWORD}).status_code == 303
    assert stranger.get(f"/account/reset/{older}").status_code == 404
    again = post(stranger, f"/account/reset/{older}", {"password": "a third good passphrase"})
    assert again.status_code == 404
    assert sign_in(browser(client), "sam@example.org", NEW_PASSWORD).status_code == 303


def test_an_expired_reset_link_is_refused_calmly(make_client: MakeClient, smtp: SmtpSink) -> None:
    client = make_client(**smtp.settings())
    sign_up(client, first_org(client))
    _forgot(browser(client), "sam@example.org")
    token = smtp.to("sam@example.org", "Reset your password")[0].link("/account/reset/")
    with Session(app_of(client).state.engine) as db:
        reset = db.get(PasswordReset, token_hash(token))
        assert reset is not None
        reset.expires_at = reset.expires_at - timedelta(minutes=61)
        db.add(reset)
        db.commit()
    stranger = browser(client)
    page = stranger.get(f"/account/reset/{token}")
    assert page.status_code == 404
    assert "Page not found" in page.text and "has expired" in page.text
    assert 'href="/support"' in page.text and "Traceback" not in page.text
    refused = post(stranger, f"/account/reset/{token}", {"password": NEW_PASSWORD})
    assert refused.status_code == 404
    assert sign_in(browser(client), "sam@example.org").status_code == 303  # unchanged
    assert stranger.get("/account/reset/made-up-token").status_code == 404


# Invitations ------------------------------------------------------------------------


def _invite(client: TestClient, email: str, settings: Settings) -> tuple[Organisation, Team]:
    with Session(app_of(client).state.engine) as db:
        org = db.exec(select(Organisation).order_by(col(Organisation.id))).first()
        assert org is not None and org.id is not None
        team = db.exec(select(Team).where(Team.organisation_id == org.id)).first()
        assert team is not None
        db.expunge(org)
        db.expunge(team)
        accounts.create_invitation(
            db,
            email=email,
            organisation_id=org.id,
            team_id=team.id,
            role="learner",
            invited_by=None,
            settings=settings,
        )
        return org, team


def test_an_invitation_link_creates_the_account_in_its_team_once(
    make_client: MakeClient, smtp: SmtpSink
) -> None:
    client = make_client(**smtp.settings())
    settings: Settings = app_of(client).state.settings
    org, team = _invite(client, "Jo@Example.org", settings)
    [mail] = smtp.to("Jo@Example.org")
    assert org.name in mail.body
    token = mail.link("/invitations/")
    url = f"/invitations/{token}"
    page = client.get(url)
    assert page.status_code == 200
    assert org.name in page.text and "jo@example.org" in page.text
    weak = post(client, url, {"name": "Jo Newcomer", "password": "short"})
    assert weak.status_code == 400
    assert input_value(weak.text, "name") == "Jo Newcomer"
    assert "12 characters" in (field_error(weak.text, "password") or "")
    assert users(client) == []
    response = post(client, url, {"name": "Jo Newcomer", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/learning"
    assert "Hello Jo Newcomer" in client.get("/learning").text
    [user] = users(client)
    assert (user.email, user.organisation_id, user.team_id, user.role) == (
        "jo@example.org",
        org.id,
        team.id,
        "learner",
    )
    assert user.partnership_id == org.partnership_id
    # Works once.
    other = browser(client)
    assert other.get(url).status_code == 404
    again = post(other, url, {"name": "Somebody Else", "password": NEW_PASSWORD})
    assert again.status_code == 404 and "already been used" in again.text
    assert len(users(client)) == 1
    assert sign_in(browser(client), "jo@example.org", NEW_PASSWORD).status_code == 400


def test_an_expired_invitation_is_refused(make_client: MakeClient, smtp: SmtpSink) -> None:
    client = make_client(**smtp.settings())
    _invite(client, "jo@example.org", app_of(client).state.settings)
    token = smtp.messages[0].link("/invitations/")
    with Session(app_of(client).state.engine) as db:
        invitation = db.exec(
            select(Invitation).where(Invitation.token_hash == token_hash(token))
        ).one()
        invitation.expires_at = invitation.expires_at - timedelta(days=15)
        db.add(invitation)
        db.commit()
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 404 and "has expired" in page.text
    response = post(client, f"/invitations/{token}", {"name": "Jo", "password": PASSWORD})
    assert response.status_code == 404
    assert users(client) == []
    assert client.get("/invitations/not-a-real-token").status_code == 404


def test_the_csrf_cookie_is_given_on_the_first_page(client: TestClient) -> None:
    assert csrf_token(client)
    page = client.get("/account/sign-in").text
    assert f'name="csrf_token" value="{client.cookies.get("elearn_csrf")}"' in page


def test_signing_in_again_in_the_same_browser_ends_the_earlier_session(
    make_client: MakeClient,
) -> None:
    client = make_client()
    sign_up(client, first_org(client))
    earlier = client.cookies.get("elearn_session")
    assert sign_in(client, "sam@example.org").status_code == 303
    assert client.cookies.get("elearn_session") != earlier
    replay = browser(client, session=earlier)
    assert replay.get("/learning", follow_redirects=False).status_code == 303
    with Session(app_of(client).state.engine) as db:
        assert len(db.exec(select(AuthSession)).all()) == 1


def test_a_name_certificates_cannot_print_is_refused_naming_the_characters(
    client: TestClient, organisations: list[Organisation]
) -> None:
    response = sign_up(client, organisations[0], name="Sam \U00013000")
    assert response.status_code == 400
    error = field_error(response.text, "name")
    assert error is not None and "Certificates cannot print \U00013000" in error
    assert users(client) == []
    gujarati = sign_up(client, organisations[0], name="પ્રિયા પટેલ", email="priya@example.org")
    assert gujarati.status_code == 303
    assert [u.name for u in users(client)] == ["પ્રિયા પટેલ"]
