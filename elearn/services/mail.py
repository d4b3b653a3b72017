"""Sending email through SMTP; printed to the log when no SMTP server is set (development)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from elearn.config import Settings

log = logging.getLogger("elearn.mail")


def send_mail(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """Send a plain-text email, or log it when ELEARN_SMTP_HOST is empty."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if not settings.smtp_host:
        log.info(
            "email not sent (no SMTP server set)",
            extra={"to": to, "subject": subject, "body": body},
        )
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()  # refuses, rather than sending in clear, when the server cannot
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)
