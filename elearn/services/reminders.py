"""Reminder emails: each learner whose required training is due soon, overdue or expired,
and each manager a digest of their teams. Safe to run every hour: nobody hears about the
same required training more than once a week, and a manager gets one digest a week."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from elearn.config import Settings
from elearn.content.catalog import Catalog
from elearn.models import Partnership, ReminderSent, TeamManager, User, utcnow
from elearn.services import scopes, statuses, training
from elearn.services.mail import send_mail

WEEK = timedelta(days=7)
NEEDS_NUDGE = ("due_soon", "overdue", "expired")


@dataclass
class Due:
    """One person's required training that needs attention, by assignment."""

    user_id: int
    name: str
    email: str
    team_id: int | None
    items: dict[int, list[tuple[str, statuses.Standing]]] = field(default_factory=dict)


@dataclass
class Report:
    """What one run sent."""

    learner_emails: int = 0
    digests: int = 0
    skipped_recent: int = 0


def _due(db: Session, catalog: Catalog, partnership_id: str, today: date) -> list[Due]:
    """Everyone in the partnership with something due soon, overdue or expired."""
    scope = scopes.Scope(partnership_id, None)
    filters = scopes.Filters()
    assignments, rules, columns = training.rules_for(db, scope, catalog, filters)
    required = training.Requirements(assignments, rules)
    titles = {c.module_id: c.title for c in columns}
    people = training.people_query(scope, filters)
    done, started, _ = training.facts_for(db, people, list(titles), with_best=False)
    found = []
    for row in db.exec(people).all():
        user_id, name, email, team_id, organisation_id, _, _, sector = row
        due = Due(user_id, name, email, team_id)
        for assignment_id, rule in required.rules(team_id, organisation_id, sector):
            cell = statuses.standing(
                today=today,
                due_on=rule.due_on,
                recertify_months=rule.recertify_months,
                completed_on=done.get((user_id, rule.module_id)),
                started=(user_id, rule.module_id) in started,
            )
            if cell.status in NEEDS_NUDGE:
                due.items.setdefault(assignment_id, []).append((titles[rule.module_id], cell))
        if due.items:
            found.append(due)
    return found


def _recent(db: Session, since: datetime) -> tuple[set[tuple[int, int]], set[int]]:
    """(person, assignment) pairs reminded, and managers sent a digest, since then."""
    rows = db.exec(select(ReminderSent).where(col(ReminderSent.sent_at) > since)).all()
    learners = {
        (r.user_id, r.assignment_id) for r in rows if r.kind == "learner" and r.assignment_id
    }
    digests = {r.user_id for r in rows if r.kind == "digest"}
    return learners, digests


def _learner_body(due: Due, items: list[tuple[str, statuses.Standing]], settings: Settings) -> str:
    lines = [
        f"Hello {due.name},",
        "",
        "Some of the training your organisation asks of you needs attention:",
        "",
    ]
    for title, cell in items:
        if cell.status == "overdue":
            lines.append(f"- {title}: was due on {cell.due_on:%-d %B %Y}")
        elif cell.status == "expired":
            lines.append(f"- {title}: your completion has expired and it is needed again")
        else:
            lines.append(f"- {title}: due by {cell.due_on:%-d %B %Y}")
    lines += [
        "",
        "You can see what is required of you and carry on at "
        f"{settings.public_url}/learning#required",
        "There is no time limit on any page, and you can stop whenever you need to.",
        "",
        "If this training brings up difficult feelings, support is listed at "
        f"{settings.public_url}/support",
    ]
    return "\n".join(lines) + "\n"


def send(
    db: Session, *, settings: Settings, catalog: Catalog, now: datetime | None = None
) -> Report:
    """Send what is due now; record each email as it goes, so a failure part way through
    loses nothing that was sent and repeats nothing on the next run."""
    now = now or utcnow()
    today = now.date()
    report = Report()
    reminded, digested = _recent(db, now - WEEK)
    by_team: dict[int, list[Due]] = defaultdict(list)
    for partnership_id in db.exec(select(Partnership.id)).all():
        for due in _due(db, catalog, partnership_id, today):
            if due.team_id is not None:
                by_team[due.team_id].append(due)
            fresh = {a: items for a, items in due.items.items() if (due.user_id, a) not in reminded}
            if not fresh:
                report.skipped_recent += 1
                continue
            items = [item for a in sorted(fresh) for item in fresh[a]]
            send_mail(
                settings,
                to=due.email,
                subject="Training that needs your attention",
                body=_learner_body(due, items, settings),
            )
            for assignment_id in fresh:
                db.add(
                    ReminderSent(
                        user_id=due.user_id,
                        assignment_id=assignment_id,
                        kind="learner",
                        sent_at=now,
                    )
                )
            db.commit()
            report.learner_emails += 1
    managers = defaultdict(set)
    for team_id, user_id in db.exec(select(TeamManager.team_id, TeamManager.user_id)).all():
        managers[user_id].add(team_id)
    for manager_id, team_ids in sorted(managers.items()):
        people = [d for t in sorted(team_ids) for d in by_team.get(t, [])]
        if not people or manager_id in digested:
            continue
        manager = db.get(User, manager_id)
        if manager is None:
            continue
        send_mail(
            settings,
            to=manager.email,
            subject=f"Your teams' training: {len(people)} need attention",
            body=_digest_body(manager, people, settings),
        )
        db.add(ReminderSent(user_id=manager_id, assignment_id=None, kind="digest", sent_at=now))
        db.commit()
        report.digests += 1
    return report


def _digest_body(manager: User, people: list[Due], settings: Settings) -> str:
    overdue = [
        p
        for p in people
        if any(c.status in ("overdue", "expired") for i in p.items.values() for _, c in i)
    ]
    lines = [
        f"Hello {manager.name},",
        "",
        f"In the teams you manage, {len(people)} "
        f"{'person has' if len(people) == 1 else 'people have'} required training due soon or "
        f"overdue ({len(overdue)} overdue or expired):",
        "",
    ]
    for person in sorted(people, key=lambda p: p.name.lower()):
        worst = sorted(
            (c for items in person.items.values() for _, c in items),
            key=lambda c: statuses.STATUSES.index(c.status),
        )[0]
        lines.append(f"- {person.name}: {worst.label.lower()}")
    lines += ["", f"See the details at {settings.public_url}/manage"]
    return "\n".join(lines) + "\n"
