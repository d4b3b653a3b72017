"""`elearn reminders send`: learners with training due soon, overdue or expired get one
email per assignment a week at most; each manager gets one digest a week. Real SMTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner

from elearn import cli
from elearn.models import (
    Assignment,
    ModuleCompletion,
    Organisation,
    ReminderSent,
    Team,
    TeamManager,
    User,
)
from elearn.services import reminders
from tests.conftest import MakeClient
from tests.services.conftest import SmtpSink

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _setup(engine: Any) -> dict[str, int]:
    """A team with a manager, three people, and a track due in ten days."""
    with Session(engine) as db:
        org = db.exec(select(Organisation)).first()
        assert org is not None and org.id is not None
        team = Team(organisation_id=org.id, name="Reminder team")
        db.add(team)
        db.commit()
        db.refresh(team)
        ids: dict[str, int] = {"team": team.id or 0}
        for key, name in (("due", "Dee Due"), ("done", "Don Done"), ("boss", "Bea Boss")):
            user = User(
                email=f"{key}@example.org",
                name=name,
                password_hash="x",
                role="manager" if key == "boss" else "learner",
                partnership_id=org.partnership_id,
                organisation_id=org.id,
                team_id=team.id if key != "boss" else None,
            )
            db.add(user)
            db.commit()
            db.refresh(user)
            ids[key] = user.id or 0
        db.add(TeamManager(team_id=team.id or 0, user_id=ids["boss"]))
        db.add(
            Assignment(
                partnership_id=org.partnership_id,
                course_id="sample",
                module_id="shared-basics",
                team_id=team.id,
                due_on=(NOW + timedelta(days=10)).date(),
            )
        )
        db.add(
            ModuleCompletion(
                user_id=ids["done"],
                course_id="sample",
                module_id="shared-basics",
                module_version=1,
                content_hash="x" * 64,
                completed_at=NOW - timedelta(days=3),
            )
        )
        db.commit()
        return ids


def _send(client: Any, now: datetime) -> reminders.Report:
    app = client.app
    with Session(app.state.engine) as db:
        return reminders.send(
            db, settings=app.state.settings, catalog=app.state.catalog.current, now=now
        )


def test_reminders_go_to_who_needs_them_once_a_week(
    make_client: MakeClient, smtp: SmtpSink
) -> None:
    client = make_client(**smtp.settings(), base_url="https://learn.example")
    _setup(client.app.state.engine)
    report = _send(client, NOW)
    assert (report.learner_emails, report.digests) == (1, 1)
    [mail] = smtp.to("due@example.org")
    assert mail.message["Subject"] == "Training that needs your attention"
    assert "Shared basics: due by 4 December 2026" in mail.body
    assert "https://learn.example/learning#required" in mail.body
    assert smtp.to("done@example.org") == []
    [digest] = smtp.to("boss@example.org")
    assert "Dee Due: due soon" in digest.body and "Don Done" not in digest.body
    # Every hour for the rest of the week: nothing more.
    for hour in range(1, 24 * 7, 7):
        again = _send(client, NOW + timedelta(hours=hour))
        assert (again.learner_emails, again.digests) == (0, 0)
    assert len(smtp.messages) == 2
    # A week later, still not done: one more each.
    later = _send(client, NOW + timedelta(days=7, minutes=1))
    assert (later.learner_emails, later.digests) == (1, 1)
    assert len(smtp.to("due@example.org")) == 2
    second = smtp.to("due@example.org")[1]
    assert "was due on 4 December 2026" not in second.body  # still due soon on 1 December
    with Session(client.app.state.engine) as db:
        assert len(db.exec(select(ReminderSent)).all()) == 4


def test_a_new_assignment_is_reminded_even_if_another_was_this_week(
    make_client: MakeClient, smtp: SmtpSink
) -> None:
    client = make_client(**smtp.settings())
    ids = _setup(client.app.state.engine)
    _send(client, NOW)
    with Session(client.app.state.engine) as db:
        db.add(
            Assignment(
                partnership_id="nottinghamshire",
                course_id="sample",
                module_id="alpha-only",
                team_id=ids["team"],
                due_on=(NOW - timedelta(days=1)).date(),
            )
        )
        db.commit()
    report = _send(client, NOW + timedelta(hours=1))
    assert report.learner_emails == 2  # both learners: alpha-only is overdue for each
    latest = smtp.to("due@example.org")[-1]
    assert "Alpha only: was due on 23 November 2026" in latest.body
    assert "Shared basics" not in latest.body  # reminded an hour ago


def test_the_command_sends_through_the_configured_server(
    make_client: MakeClient, smtp: SmtpSink, settings: Any, monkeypatch: Any
) -> None:
    client = make_client(**smtp.settings())
    _setup(client.app.state.engine)
    for name, value in {
        "ELEARN_DATA_DIR": str(settings.data_dir),
        "ELEARN_COURSES_DIR": str(Path(settings.courses_dir)),
        "ELEARN_SMTP_HOST": smtp.host,
        "ELEARN_SMTP_PORT": str(smtp.port),
        "ELEARN_SMTP_STARTTLS": "false",
        "ELEARN_DATABASE_URL": settings.database_url,
    }.items():
        monkeypatch.setenv(name, value)
    first = CliRunner().invoke(cli.app, ["reminders", "send"])
    assert first.exit_code == 0, first.output
    assert "sent 1 reminder(s) and 1 manager digest(s)" in first.output
    second = CliRunner().invoke(cli.app, ["reminders", "send"])
    assert "sent 0 reminder(s) and 0 manager digest(s)" in second.output
    assert len(smtp.messages) == 2
