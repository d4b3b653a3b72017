"""Command line: serve, demo, courses, db, partnerships, admin and certificates."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from elearn.certificates.cli import app as certificates_app
from elearn.config import Settings, SettingsError, load_settings

app = typer.Typer(help="Trauma-informed e-learning platform.", no_args_is_help=True)
courses_app = typer.Typer(help="Check and describe course content.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(courses_app, name="courses")
app.add_typer(db_app, name="db")
app.add_typer(certificates_app, name="certificates")


def _task_engine(settings: Settings) -> Any:
    """The database for a command-line task, with the timeout settings (a SQLite file is
    migrated first)."""
    from elearn.db import make_engine, upgrade

    if settings.is_sqlite:
        upgrade(settings.database_url)
    return make_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@courses_app.command("validate")
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="Course folders or files.")] = None,
) -> None:
    """Check course content; print every problem as file:line: message."""
    from elearn.content.loader import load

    targets = paths or [_settings().courses_dir]
    result = load(targets, workers=os.cpu_count() or 1)
    for problem in result.problems:
        typer.echo(str(problem))
    errors, warnings = len(result.errors), len(result.problems) - len(result.errors)
    if errors:
        typer.echo(f"{errors} error(s), {warnings} warning(s) in {result.files} file(s)", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"ok: {result.course_count} course(s), {result.module_count} module(s) "
        f"in {result.files} file(s), {warnings} warning(s)"
    )


@courses_app.command("schema")
def schema(
    kind: Annotated[str, typer.Option(help="course, module, or any (either file).")] = "any",
) -> None:
    """Print the JSON Schema of the course format (for editor autocompletion)."""
    from elearn.content.schema import json_schema

    if kind not in ("course", "module", "any"):
        typer.echo("error: --kind must be course, module or any", err=True)
        raise typer.Exit(2)
    chosen: Literal["course", "module", "any"] = kind  # type: ignore[assignment]
    json.dump(json_schema(chosen), sys.stdout, indent=2)
    sys.stdout.write("\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration."""
    from elearn.db import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    typer.echo("database is up to date")


def _print_logins(engine: Any, catalog: Any, settings: Any) -> None:
    from sqlmodel import Session

    from elearn.services.demo import seed_demo, seed_learners
    from elearn.services.partnerships import load_partnerships

    with Session(engine) as session:
        load_partnerships(session)
        logins = seed_demo(session)
        logins += seed_learners(session, catalog, settings)
    typer.echo("\nDemo accounts (passwords are new each time demo data is loaded):")
    for login in logins:
        typer.echo(f"  {login.partnership:<16} {login.role:<17} {login.email:<46} {login.password}")
    typer.echo("")


partnerships_app = typer.Typer(
    help="Partnerships and their support contacts.", no_args_is_help=True
)
app.add_typer(partnerships_app, name="partnerships")


@partnerships_app.command("load")
def partnerships_load(
    path: Annotated[Path | None, typer.Argument(help="A partnerships YAML file.")] = None,
) -> None:
    """Create or update partnerships and their support contacts from the YAML file."""
    from sqlmodel import Session

    from elearn.db import make_engine, upgrade
    from elearn.services.partnerships import SEED, load_partnerships

    settings = _settings()
    upgrade(settings.database_url)
    engine = make_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    with Session(engine) as session:
        count = load_partnerships(session, path=path or SEED)
    engine.dispose()
    typer.echo(f"loaded {count} partnership(s) and their support contacts")


reminders_app = typer.Typer(help="Reminder emails about required training.", no_args_is_help=True)
app.add_typer(reminders_app, name="reminders")


@reminders_app.command("send")
def reminders_send() -> None:
    """Email learners whose required training is due soon, overdue or expired, and each
    manager a digest. Safe to run every hour: at most one reminder per assignment a week."""
    from sqlmodel import Session

    from elearn.content.catalog import load_catalog
    from elearn.services import reminders

    settings = _settings()
    engine = _task_engine(settings)
    with Session(engine) as session:
        report = reminders.send(
            session, settings=settings, catalog=load_catalog(settings.courses_dir)
        )
    engine.dispose()
    typer.echo(
        f"sent {report.learner_emails} reminder(s) and {report.digests} manager digest(s); "
        f"{report.skipped_recent} person(s) already reminded this week"
    )


admin_app = typer.Typer(help="Partnership admins.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("create")
def admin_create(
    partnership: Annotated[str, typer.Option(help="The partnership's id.")],
    email: Annotated[str, typer.Option(help="The admin's email address.")],
    name: Annotated[str, typer.Option(help="The admin's name.")],
) -> None:
    """Make a partnership admin: a new account, with a one-use link that sets its password,
    or an account already in the partnership given the admin role."""
    from sqlmodel import Session

    from elearn.services import people

    settings = _settings()
    engine = _task_engine(settings)
    try:
        with Session(engine) as session:
            result = people.create_admin(
                session, partnership_id=partnership, email=email, name=name, settings=settings
            )
    except people.PeopleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    user = result.user
    if result.link is None:
        if result.previous_role == "admin":
            typer.echo(f"{user.email} is already an admin of {user.partnership_id}")
        else:
            typer.echo(
                f"{user.email}'s role changed from {result.previous_role} to admin "
                f"in {user.partnership_id}"
            )
        return
    days = people.ADMIN_LINK_FOR.days
    typer.echo(f"created admin {user.email} in {user.partnership_id}")
    typer.echo(f"Set the password with this link (it works once, for {days} days):")
    typer.echo(result.link)


@app.command()
def demo() -> None:
    """Add demo partnerships, organisations, teams and one account per role; print logins."""
    from elearn.db import make_engine, upgrade

    settings = _settings()
    upgrade(settings.database_url)
    from elearn.content.catalog import load_catalog

    engine = make_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    _print_logins(engine, load_catalog(settings.courses_dir), settings)
    engine.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[bool, typer.Option(help="Add demo data first.")] = False,
) -> None:
    """Start the web server (upgrading a SQLite database first)."""
    import uvicorn

    from elearn.app import create_app
    from elearn.content.problems import ContentError

    settings = _settings().model_copy(
        update={k: v for k, v in (("host", host), ("port", port)) if v is not None}
    )
    if settings.environment == "production" and not settings.smtp_host:
        typer.echo(
            "error: ELEARN_SMTP_HOST must be set in production (reset and invitation links are "
            "sent by email); the server did not start",
            err=True,
        )
        raise typer.Exit(2)
    try:
        application = create_app(settings)
        if demo:
            _print_logins(application.state.engine, application.state.catalog.current, settings)
    except ContentError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"error: {exc}; the server did not start", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"The service is at {settings.public_url}\n")
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        log_config=None,
        # Forwarded headers are read by the app, only from ELEARN_TRUSTED_PROXIES (uvicorn
        # would otherwise believe them from 127.0.0.1 by default).
        proxy_headers=False,
        forwarded_allow_ips="",
    )
