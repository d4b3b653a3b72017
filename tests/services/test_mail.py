"""Sending email: logged when no SMTP server is set, delivered through SMTP when one is."""

from __future__ import annotations

import logging
import smtplib

import pytest

from elearn.config import Settings
from elearn.services.mail import send_mail, written
from tests.services.conftest import SmtpSink


def test_without_an_smtp_host_mail_is_written_to_a_file_and_never_logged(
    settings: Settings, smtp: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    quiet = settings.model_copy(update={"smtp_host": "", "smtp_port": smtp.port})
    caplog.set_level(logging.INFO, logger="elearn.mail")
    send_mail(quiet, to="sam@example.org", subject="Reset your password", body="The link: x\n")
    assert smtp.messages == []
    [record] = [r for r in caplog.records if r.name == "elearn.mail"]
    assert "not sent" in record.getMessage()
    assert record.to == "s***@e***.org"  # type: ignore[attr-defined]
    assert "The link" not in repr(record.__dict__)
    [written_mail] = written(quiet)
    assert written_mail["To"] == "sam@example.org"
    assert written_mail.get_body().get_content() == "The link: x\n"  # type: ignore[union-attr]


def test_mail_is_delivered_through_smtp(settings: Settings, smtp: SmtpSink) -> None:
    live = settings.model_copy(update=smtp.settings())
    body = "Hello Siân,\n\nCafé – “quotes” and a link: http://127.0.0.1:8000/x\n"
    send_mail(live, to="sian@example.org", subject="Héllo – a test", body=body)
    [delivered] = smtp.messages
    assert delivered.rcpt_tos == ["sian@example.org"]
    assert delivered.message["To"] == "sian@example.org"
    assert delivered.message["Subject"] == "Héllo – a test"
    assert delivered.message["From"] == settings.smtp_from
    assert delivered.body.replace("\r\n", "\n") == body


def test_an_unreachable_smtp_server_is_an_error_not_silence(settings: Settings) -> None:
    from tests.services.conftest import free_port

    dead = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_starttls": False}
    )
    with pytest.raises(OSError):
        send_mail(dead, to="sam@example.org", subject="s", body="b")


def test_starttls_required_is_not_silently_downgraded(settings: Settings, smtp: SmtpSink) -> None:
    """With smtp_starttls on, a server that does not offer STARTTLS must not get the mail in
    clear text (nor, when set, the SMTP password): a stripped STARTTLS is an attack."""
    strict = settings.model_copy(update={**smtp.settings(), "smtp_starttls": True})
    with pytest.raises((smtplib.SMTPException, OSError)):
        send_mail(strict, to="sam@example.org", subject="Reset", body="secret link\n")
    assert smtp.messages == []


def test_starttls_is_used_when_the_server_offers_it(settings: Settings, smtp_tls: SmtpSink) -> None:
    """smtp_starttls (the default) must switch to TLS before the message is sent."""
    secure = settings.model_copy(
        update={"smtp_host": smtp_tls.host, "smtp_port": smtp_tls.port, "smtp_starttls": True}
    )
    send_mail(secure, to="sam@example.org", subject="Reset", body="secret link\n")
    [delivered] = smtp_tls.messages
    assert delivered.tls, "the message (and any SMTP password) went over the wire in clear text"


def test_starttls_can_be_turned_off(settings: Settings, smtp_tls: SmtpSink) -> None:
    plain = settings.model_copy(
        update={"smtp_host": smtp_tls.host, "smtp_port": smtp_tls.port, "smtp_starttls": False}
    )
    send_mail(plain, to="sam@example.org", subject="Hi", body="hello\n")
    [delivered] = smtp_tls.messages
    assert not delivered.tls
