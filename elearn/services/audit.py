"""The audit trail: who did what, when, to whom, and what it was before and after.

Every admin and manager action, and the system's own (retention, reminders), is written with
`record` inside the transaction that makes the change, so an event exists exactly when the
change does. Events are never changed or deleted by a route; on PostgreSQL the database
itself refuses it (migration 0009) except inside `maintenance`, which only the retention and
erasure jobs use.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from elearn.models import AuditEvent, User

_LIMIT = 4000  # the detail, before and after columns' size


def _json(value: Mapping[str, Any] | None) -> str:
    if not value:
        return ""
    written = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return written if len(written) <= _LIMIT else written[: _LIMIT - 1] + "…"


def record(
    db: Session,
    *,
    actor: User | None,
    action: str,
    partnership_id: str | None = None,
    subject_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an event to the session (committed with the change it records).

    `action` is a dotted kind such as "person.role" or "organisation.create"; `actor` None
    means the system. The partnership defaults to the actor's; `subject_id` is the person the
    event is about, when there is one. `before` and `after` hold only what changed."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action[:80],
        detail=_json(detail),
        partnership_id=partnership_id or (actor.partnership_id if actor is not None else None),
        subject_id=subject_id,
        before=_json(before),
        after=_json(after),
    )
    db.add(event)
    return event


def changes(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The before and after of only the keys whose values differ."""
    changed = [key for key in new if old.get(key) != new[key]]
    return {k: old.get(k) for k in changed}, {k: new[k] for k in changed}


@contextlib.contextmanager
def maintenance(db: Session) -> Iterator[None]:
    """Within the current transaction, allow audit rows to be deleted or rewritten (the
    retention and erasure jobs only). On SQLite there is nothing to switch."""
    if db.get_bind().dialect.name == "postgresql":
        db.exec(text("SET LOCAL elearn.audit_maintenance = 'on'"))  # type: ignore[call-overload]
    yield
