"""Sending email through SMTP. Without an SMTP server (development and tests) each email is
written to a file in DATA_DIR/mail instead, and the log says so without its content."""

from __future__ import annotations

import logging
import secrets
import smtplib
from email.message import EmailMessage
from pathlib import Path

from elearn.config import Settings
from elearn.models import utcnow

log = logging.getLogger("elearn.mail")


def mask(address: str) -> str:
    """An address with most of it hidden, for logs: s***@e***.org."""
    local, _, domain = address.strip().partition("@")
    name, dot, tld = domain.rpartition(".")
    hidden_domain = f"{name[:1]}***{dot}{tld}" if name else f"{tld[:1]}***"
    return f"{local[:1]}***@{hidden_domain}"


def mail_folder(settings: Settings) -> Path:
    """Where emails go when no SMTP server is set."""
    return settings.data_dir / "mail"


def send_mail(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """Send a plain-text email; without ELEARN_SMTP_HOST, write it to DATA_DIR/mail.

    Links in emails are secrets (they reset passwords and accept invitations): the log never
    holds an email's body or its full recipient."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if not settings.smtp_host:
        if settings.environment == "production":
            log.error("email not sent: no SMTP server set", extra={"to": mask(to)})
            return
        folder = mail_folder(settings)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        (folder / name).write_bytes(bytes(message))
        log.info(
            "email not sent (no SMTP server set); written to a file",
            extra={"to": mask(to), "subject": subject, "file": str(folder / name)},
        )
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()  # refuses, rather than sending in clear, when the server cannot
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


def written(settings: Settings) -> list[EmailMessage]:
    """Emails written to DATA_DIR/mail (no SMTP server set), oldest first."""
    import email
    import email.policy

    folder = mail_folder(settings)
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if isinstance(message, EmailMessage):
            found.append(message)
    return found
