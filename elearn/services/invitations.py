"""Inviting people to a team: one at a time, or a whole CSV file that is checked row by row
and either invited in full or not at all. Links are made and emailed by accounts."""

from __future__ import annotations

import csv
import io
import logging
import re
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from elearn.config import Settings
from elearn.content.catalog import Catalog
from elearn.errors import FormError, NotFound, UserFacingError
from elearn.models import (
    Assignment,
    Invitation,
    Organisation,
    Partnership,
    Team,
    TeamManager,
    User,
    utcnow,
)
from elearn.services import accounts, scopes, spreadsheet
from elearn.services.mail import send_mail
from elearn.services.sessions import _aware

log = logging.getLogger("elearn.invitations")

MAX_BYTES = 1_000_000
MAX_ROWS = 1000
MAX_NAME = 200
MAX_EMAIL = 320
RECENT = 50
ROLES = {"learner": "Learner", "manager": "Manager"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # not in text files
_QUERY_CHUNK = 500  # emails per IN (...) query, well under SQLite's variable limit


class UnreadableFile(UserFacingError):
    """The uploaded file cannot be read as a CSV of names and emails."""


# Who may invite to which teams ----------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """The teams a manager (those they manage) or partnership admin (all) may invite to."""

    inviter: User
    teams: list[Team]
    organisations: dict[int, Organisation]

    def team(self, raw: str) -> Team:
        """The team with this id among the reachable ones; NotFound for any other value."""
        found = next((t for t in self.teams if str(t.id) == raw.strip()), None)
        if found is None:
            raise NotFound("There is no such team among the teams you look after.")
        return found

    def grouped(self) -> list[tuple[Organisation, list[Team]]]:
        """Teams under their organisations, for a select with option groups."""
        groups: dict[int, list[Team]] = {}
        for team in self.teams:
            groups.setdefault(team.organisation_id, []).append(team)
        return [(self.organisations[org_id], teams) for org_id, teams in groups.items()]

    def roles(self) -> dict[str, str]:
        """Roles this person may invite as: admins may also invite managers."""
        return ROLES if self.inviter.role == "admin" else {"learner": ROLES["learner"]}

    def names(self) -> dict[int, str]:
        """The reachable teams' names by id."""
        return {team.id: team.name for team in self.teams if team.id is not None}


def reach_of(db: Session, user: User) -> Reach:
    """What this person may invite to; NotFound for anyone but managers and admins."""
    scope = scopes.require_scope(db, user)
    query = select(Team, Organisation).join(
        Organisation, col(Organisation.id) == Team.organisation_id
    )
    if scope.team_ids is None:
        query = query.where(Organisation.partnership_id == scope.partnership_id)
    else:
        query = query.join(TeamManager, col(TeamManager.team_id) == Team.id).where(
            TeamManager.user_id == user.id
        )
    pairs = db.exec(query.order_by(col(Organisation.name), col(Team.name))).all()
    return Reach(
        inviter=user,
        teams=[team for team, _ in pairs],
        organisations={org.id: org for _, org in pairs if org.id is not None},
    )


# Rows and their problems ------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One person to invite, with the file's line number (0 for the one-person form)."""

    line: int
    name: str
    email: str


@dataclass(frozen=True)
class Problem:
    """Why one row cannot be invited; `field` is "name" or "email"."""

    line: int
    field: str
    message: str
    row: Row


@dataclass
class Checked:
    """Every row of a file, sorted into those that may be invited and those that may not."""

    accepted: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def problem_lines(self) -> list[int]:
        """The line numbers with a problem, each once, in order."""
        return sorted({p.line for p in self.problems})

    def by_line(self) -> list[tuple[Row, list[str]]]:
        """Each row with a problem, once, with every message about it."""
        grouped: dict[int, tuple[Row, list[str]]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.line, (problem.row, []))[1].append(problem.message)
        return [grouped[line] for line in sorted(grouped)]


def _own_problems(name: str, email: str) -> dict[str, str]:
    """What is wrong with a name and email on their own, by field."""
    problems: dict[str, str] = {}
    if len(name) > MAX_NAME:
        problems["name"] = f"Name must be {MAX_NAME} characters or fewer"
    elif "\x00" in name:
        problems["name"] = "Name must not contain a NUL character; type it again"
    elif spreadsheet.looks_like_formula(name):
        problems["name"] = (
            "Name must not start with =, +, -, @ or | (a spreadsheet would run it as a formula)"
        )
    if not email:
        problems["email"] = "Enter an email address"
    elif len(email) > MAX_EMAIL or not accounts.EMAIL.match(email):
        problems["email"] = "Enter an email address in the correct format, like name@example.org"
    return problems


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _QUERY_CHUNK):
        yield items[start : start + _QUERY_CHUNK]


def _with_accounts(db: Session, emails: list[str], partnership_id: str) -> set[str]:
    """Which of these addresses have an account in this partnership. Accounts elsewhere are
    never mentioned: an invitation is sent as to anyone new (its link says the rest)."""
    found: set[str] = set()
    for chunk in _chunks(emails):
        found.update(
            db.exec(
                select(User.email).where(
                    col(User.email).in_(chunk), User.partnership_id == partnership_id
                )
            ).all()
        )
    return found


def _waiting(db: Session, emails: list[str], team_id: int) -> dict[str, datetime]:
    """Emails with an open invitation to this team, and when the newest one expires."""
    found: dict[str, datetime] = {}
    for chunk in _chunks(emails):
        for email, expires in db.exec(
            select(Invitation.email, Invitation.expires_at).where(
                Invitation.team_id == team_id,
                col(Invitation.accepted_at).is_(None),
                col(Invitation.expires_at) > utcnow(),
                col(Invitation.email).in_(chunk),
            )
        ).all():
            found[email] = max(found.get(email, expires), expires)
    return found


def _day(moment: datetime) -> str:
    return f"{_aware(moment):%-d %B %Y}"


def check_rows(db: Session, rows: list[Row], team: Team | None, *, partnership_id: str) -> Checked:
    """Check every row: format, repeats within the file, existing accounts, and (given a team)
    invitations to it still waiting."""
    checked = Checked()
    first_line: dict[str, int] = {}
    for row in rows:
        own = _own_problems(row.name, row.email)
        if "email" not in own:
            if row.email in first_line:
                own["email"] = f"This email address is already on line {first_line[row.email]}"
            else:
                first_line[row.email] = row.line
        checked.problems += [Problem(row.line, f, m, row) for f, m in own.items()]
    emails = list(first_line)
    taken = _with_accounts(db, emails, partnership_id)
    waiting = _waiting(db, emails, team.id) if team is not None and team.id is not None else {}
    for row in rows:
        if first_line.get(row.email) != row.line:
            continue
        if row.email in taken:
            message = "This email address already has an account, so it needs no invitation"
            checked.problems.append(Problem(row.line, "email", message, row))
        elif row.email in waiting and team is not None:
            message = (
                f"This email address already has an invitation to {team.name} waiting: "
                f"it works until {_day(waiting[row.email])}"
            )
            checked.problems.append(Problem(row.line, "email", message, row))
    bad = set(checked.problem_lines)
    checked.accepted = [row for row in rows if row.line not in bad]
    checked.problems.sort(key=lambda p: (p.line, p.field != "email"))
    return checked


# Sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """An invitation made: to whom, until when, and whether its email went."""

    row: Row
    expires_on: date
    emailed: bool


def _create(
    db: Session,
    *,
    reach: Reach,
    team: Team,
    row: Row,
    role: str,
    settings: Settings,
    catalog: Catalog,
) -> Sent:
    assert team.id is not None
    token = accounts.add_invitation(
        db,
        email=row.email,
        organisation_id=team.organisation_id,
        team_id=team.id,
        role=role,
        invited_by=reach.inviter.id,
        settings=settings,
        name=row.name,
    )
    db.commit()
    emailed = _emailed(
        db,
        reach=reach,
        team=team,
        email=row.email,
        name=row.name,
        token=token,
        settings=settings,
        catalog=catalog,
    )
    expires = (utcnow() + timedelta(days=settings.invitation_days)).date()
    return Sent(row, expires, emailed)


def invite_one(
    db: Session,
    *,
    reach: Reach,
    team_id: str,
    name: str,
    email: str,
    role: str,
    settings: Settings,
    catalog: Catalog,
) -> tuple[Team, Sent]:
    """Invite one person to a team within reach. FormError with a message for each field
    that is not right; NotFound for a team or role the inviter may not choose."""
    team = reach.team(team_id) if team_id.strip() else None
    if role not in reach.roles():
        raise NotFound("You cannot invite people with that role.")
    row = Row(0, name.strip(), accounts.normalise_email(email))
    errors = {
        p.field: p.message
        for p in check_rows(db, [row], team, partnership_id=reach.inviter.partnership_id).problems
    }
    if team is None:
        errors["team"] = "Select the team to invite them to"
    if errors:
        raise FormError({f: errors[f] for f in ("name", "email", "team") if f in errors})
    assert team is not None
    return team, _create(
        db, reach=reach, team=team, row=row, role=role, settings=settings, catalog=catalog
    )


def invite_all(
    db: Session,
    *,
    reach: Reach,
    team: Team,
    rows: list[Row],
    settings: Settings,
    catalog: Catalog,
) -> tuple[Checked, list[Sent]]:
    """Check every row; invite them all as learners when none has a problem, else nobody.
    The invitations are written in one transaction; their emails go once it is committed."""
    checked = check_rows(db, rows, team, partnership_id=reach.inviter.partnership_id)
    if checked.problems or not checked.accepted:
        return checked, []
    assert team.id is not None
    try:
        tokens = [
            accounts.add_invitation(
                db,
                email=row.email,
                organisation_id=team.organisation_id,
                team_id=team.id,
                role="learner",
                invited_by=reach.inviter.id,
                settings=settings,
                name=row.name,
            )
            for row in checked.accepted
        ]
        db.commit()
    except Exception:
        db.rollback()
        raise
    expires = (utcnow() + timedelta(days=settings.invitation_days)).date()
    sent = []
    for row, token in zip(checked.accepted, tokens, strict=True):
        emailed = _emailed(
            db,
            reach=reach,
            team=team,
            email=row.email,
            name=row.name,
            token=token,
            settings=settings,
            catalog=catalog,
        )
        sent.append(Sent(row, expires, emailed))
    return checked, sent


def _emailed(
    db: Session,
    *,
    reach: Reach,
    team: Team,
    email: str,
    name: str,
    token: str,
    settings: Settings,
    catalog: Catalog,
) -> bool:
    """Email a committed invitation's link; False (logged) when the mail server fails."""
    try:
        send_mail(
            settings,
            to=email,
            subject=f"{reach.inviter.name} invited you to trauma-informed practice learning",
            body=invitation_email(
                db,
                reach=reach,
                team=team,
                name=name,
                token=token,
                settings=settings,
                catalog=catalog,
            ),
        )
    except (OSError, smtplib.SMTPException):
        log.exception("could not send an invitation email")
        return False
    return True


def inviter_line(db: Session, inviter: User) -> str:
    """Who is inviting: their name, with their organisation or partnership."""
    where = []
    if inviter.organisation_id is not None:
        organisation = db.get(Organisation, inviter.organisation_id)
        if organisation is not None:
            where.append(organisation.name)
    partnership = db.get(Partnership, inviter.partnership_id)
    if partnership is not None:
        where.append(partnership.name)
    role = "partnership admin" if inviter.role == "admin" else ""
    about = ", ".join(([role] if role else []) + where)
    return f"{inviter.name} ({about})" if about else inviter.name


def required_of_team(
    db: Session, team: Team, catalog: Catalog, base_url: str
) -> list[tuple[str, date, int | None, str]]:
    """What a team is required to complete, by its team, organisation or sector: (title,
    due date, recertification months, link), soonest first."""
    organisation = db.get(Organisation, team.organisation_id)
    if organisation is None:
        return []
    found = db.exec(
        select(Assignment)
        .where(
            Assignment.partnership_id == organisation.partnership_id,
            (col(Assignment.team_id) == team.id)
            | (col(Assignment.organisation_id) == organisation.id)
            | (col(Assignment.sector) == organisation.sector),
        )
        .order_by(col(Assignment.due_on), col(Assignment.id))
    ).all()
    base = base_url.rstrip("/")
    required = []
    for a in found:
        course = catalog.course(a.course_id)
        if course is None:
            continue
        if a.track_id:
            track = course.track(a.track_id)
            if track is None:
                continue
            title, path = f"{track.model.title} (track)", f"/courses/{course.id}/{track.id}"
        else:
            module = course.modules.get(a.module_id or "")
            within = next(
                (t for t in course.tracks if any(m.id == a.module_id for m in t.modules)), None
            )
            if module is None or within is None:
                continue
            title = f"{module.model.title} (module)"
            path = f"/courses/{course.id}/{within.id}/{module.id}"
        required.append((title, a.due_on, a.recertify_months, base + path))
    return required


def invitation_email(
    db: Session,
    *,
    reach: Reach,
    team: Team,
    name: str,
    token: str,
    settings: Settings,
    catalog: Catalog,
) -> str:
    """The invitation's text: who invites them, to which team, the training required of that
    team and by when, each with its link, and the link to accept."""
    organisation = reach.organisations.get(team.organisation_id) or db.get(
        Organisation, team.organisation_id
    )
    place = f"{team.name} at {organisation.name}" if organisation else team.name
    link = f"{settings.public_url}/invitations/{token}"
    lines = [
        f"Hello{' ' + name if name else ''},",
        "",
        f"{inviter_line(db, reach.inviter)} has invited you to join {place} on "
        "trauma-informed practice learning.",
        "",
    ]
    required = required_of_team(db, team, catalog, settings.public_url)
    if required:
        lines.append(f"Training required of {team.name}:")
        lines.append("")
        for title, due_on, months, url in required:
            again = f", then again every {months} months" if months else ""
            lines.append(f"- {title}: complete by {due_on:%-d %B %Y}{again}")
            lines.append(f"  {url}")
        lines.append("")
    else:
        lines += ["No training is required of this team yet.", ""]
    lines += [
        f"Accept within {settings.invitation_days} days:",
        "",
        link,
        "",
        "The link works once. If you were not expecting this invitation, you can ignore "
        "this email.",
    ]
    return "\n".join(lines) + "\n"


# Re-sending ---------------------------------------------------------------------------------


class CannotResend(UserFacingError):
    """The invitation has done its work, or another does it now: nothing was re-sent."""

    status_code = 409
    title = "This invitation cannot be re-sent"


@dataclass(frozen=True)
class Resent:
    """An invitation with a fresh link: to whom, for which team, until when, whether emailed."""

    id: int
    email: str
    name: str
    team: str
    expires_on: date
    emailed: bool


def in_reach(db: Session, reach: Reach, invitation_id: int) -> Invitation:
    """An invitation to one of the teams within reach; NotFound for any other."""
    in_range = 0 < invitation_id < 2**31  # an integer column: nothing lies outside
    invitation = db.get(Invitation, invitation_id) if in_range else None
    if invitation is None or invitation.team_id not in reach.names():
        raise NotFound("There is no such invitation to the teams you look after.")
    return invitation


def _resend_problem(
    db: Session, invitation: Invitation, team: str, partnership_id: str
) -> str | None:
    """Why this invitation should not get a fresh link, or None."""
    if invitation.accepted_at is not None:
        return (
            f"{invitation.email} accepted their invitation on {_day(invitation.accepted_at)}, "
            "so there is nothing to re-send"
        )
    if _with_accounts(db, [invitation.email], partnership_id):
        return f"{invitation.email} already has an account, so it needs no invitation"
    other = db.exec(
        select(Invitation.expires_at).where(
            Invitation.team_id == invitation.team_id,
            Invitation.email == invitation.email,
            Invitation.id != invitation.id,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.expires_at) > utcnow(),
        )
    ).first()
    if other is not None:
        return (
            f"{invitation.email} has another invitation to {team} waiting: it works until "
            f"{_day(other)}. Re-send that one instead"
        )
    return None


def resend(
    db: Session, *, reach: Reach, invitation_id: int, settings: Settings, catalog: Catalog
) -> Resent:
    """Give a waiting or expired invitation within reach a fresh link, for as long as a new
    invitation gets, and email it once saved; the old link stops working. NotFound outside
    reach; CannotResend, with nothing changed, once accepted or no longer needed."""
    invitation = in_reach(db, reach, invitation_id)
    team = reach.names()[invitation.team_id or 0]
    partnership_id = reach.inviter.partnership_id
    problem = _resend_problem(db, invitation, team, partnership_id)
    token = None
    if problem is None:
        token = accounts.renew_invitation(db, invitation_id=invitation_id, settings=settings)
    if token is None:
        db.rollback()  # and read it again: it may have been accepted meanwhile
        raise CannotResend(
            problem
            or _resend_problem(db, invitation, team, partnership_id)
            or "This invitation cannot be re-sent"
        )
    db.commit()
    db.refresh(invitation)
    emailed = _emailed(
        db,
        reach=reach,
        team=next(t for t in reach.teams if t.id == invitation.team_id),
        email=invitation.email,
        name=invitation.name or "",
        token=token,
        settings=settings,
        catalog=catalog,
    )
    return resent_of(invitation, team, emailed=emailed)


def resent_of(invitation: Invitation, team: str, *, emailed: bool) -> Resent:
    """The banner's view of an invitation that was just re-sent."""
    assert invitation.id is not None
    return Resent(
        id=invitation.id,
        email=invitation.email,
        name=invitation.name or "",
        team=team,
        expires_on=_aware(invitation.expires_at).date(),
        emailed=emailed,
    )


# Reading a CSV file -------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a byte order mark), else Windows-1252 as older Excel saves."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(
        "The selected file could not be read as text. Save it from your spreadsheet as "
        "“CSV UTF-8” and try again"
    )


def _looks_binary(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _delimiter(text: str) -> str:
    """Commas; or semicolons or tabs, as some spreadsheets use, if the header has no commas."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    if "," not in first:
        for other in (";", "\t"):
            if other in first:
                return other
    return ","


def _columns(header: list[str]) -> tuple[int | None, int]:
    """Positions of the name and email columns in the header row."""
    names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    if names.count("email") > 1 or names.count("name") > 1:
        raise UnreadableFile("The header row must name each column once: name and email")
    if "email" not in names:
        if any(accounts.EMAIL.match(accounts.normalise_email(c)) for c in header):
            raise UnreadableFile(
                "The first line must be a header row naming the columns, like name,email. "
                "The first line of this file is a person"
            )
        raise UnreadableFile(
            "The file must have a header row with a column called email (and one called name)"
        )
    return (names.index("name") if "name" in names else None), names.index("email")


def _cell(record: list[str], at: int | None) -> str:
    return record[at].strip() if at is not None and at < len(record) else ""


def read_csv(data: bytes) -> list[Row]:
    """The people in an uploaded CSV file, each with its line number (the header is line 1).
    Blank rows are skipped; UnreadableFile says what is wrong with a file that cannot be read."""
    if len(data) > MAX_BYTES:
        raise UnreadableFile("The selected file must be smaller than 1 MB")
    if not data.strip():
        raise UnreadableFile("The selected file is empty")
    if b"\x00" in data:
        raise UnreadableFile("The selected file must be a CSV file")
    text = _decode(data)
    if _looks_binary(text):
        raise UnreadableFile("The selected file must be a CSV file")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[Row] = []
    columns: tuple[int | None, int] | None = None
    try:
        while True:
            line = reader.line_num + 1  # where the next record starts
            record = next(reader, None)
            if record is None:
                break
            if not any(cell.strip() for cell in record):
                continue
            if columns is None:
                columns = _columns(record)
                continue
            if len(rows) == MAX_ROWS:
                raise UnreadableFile(
                    f"The file has more than {MAX_ROWS:,} people. Split it into files of "
                    f"{MAX_ROWS:,} or fewer"
                )
            name_at, email_at = columns
            email = accounts.normalise_email(_cell(record, email_at))
            rows.append(Row(line, _cell(record, name_at), email))
    except csv.Error as exc:
        raise UnreadableFile(
            f"The selected file could not be read as CSV at line {reader.line_num}: {exc}"
        ) from None
    if not rows:
        raise UnreadableFile("The selected file has a header row but nobody to invite")
    return rows


# Recent invitations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Recent:
    """An invitation as listed for the staff who can see it: never its token."""

    id: int
    name: str
    email: str
    team: str
    role: str
    sent: datetime
    status: str  # waiting | accepted | expired
    until: datetime  # accepted at, or expires at

    @property
    def resendable(self) -> bool:
        """Waiting and expired invitations may be re-sent; accepted ones have done their work."""
        return self.status != "accepted"


def status_of(invitation: Invitation, now: datetime) -> str:
    """waiting, accepted or expired."""
    if invitation.accepted_at is not None:
        return "accepted"
    return "expired" if _aware(invitation.expires_at) < now else "waiting"


def recent(db: Session, reach: Reach, *, limit: int = RECENT) -> list[Recent]:
    """The newest invitations to the teams within reach."""
    names = reach.names()
    if not names:
        return []
    query = select(Invitation).where(col(Invitation.team_id).in_(list(names)))
    now = utcnow()
    found = db.exec(
        query.order_by(col(Invitation.created_at).desc(), col(Invitation.id).desc()).limit(limit)
    ).all()
    return [
        Recent(
            id=inv.id or 0,
            name=inv.name or "",
            email=inv.email,
            team=names.get(inv.team_id or 0, ""),
            role=ROLES.get(inv.role, inv.role),
            sent=_aware(inv.created_at),
            status=status_of(inv, now),
            until=_aware(inv.accepted_at or inv.expires_at),
        )
        for inv in found
    ]
