"""The audit trail is append-only: on PostgreSQL the database itself refuses changes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from elearn.models import AuditEvent
from elearn.services import audit
from tests.conftest import new_postgres_database


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    with new_postgres_database(
        postgres_url.rpartition("/")[0], "elearn_audit", migrate=True
    ) as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def _event(engine: Engine) -> int:
    with Session(engine) as db:
        event = audit.record(
            db,
            actor=None,
            action="person.role",
            partnership_id="nottinghamshire",
            subject_id=7,
            before={"role": "learner"},
            after={"role": "manager"},
            reason="promoted",
        )
        db.commit()
        assert event.id is not None
        return event.id


def test_an_event_keeps_who_what_and_before_and_after(engine: Engine) -> None:
    event_id = _event(engine)
    with Session(engine) as db:
        event = db.get(AuditEvent, event_id)
        assert event is not None
        assert (event.partnership_id, event.subject_id) == ("nottinghamshire", 7)
        assert json.loads(event.before) == {"role": "learner"}
        assert json.loads(event.after) == {"role": "manager"}
        assert json.loads(event.detail) == {"reason": "promoted"}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE auditevent SET action = 'nothing.happened'",
        "DELETE FROM auditevent",
        "TRUNCATE auditevent",
    ],
)
def test_postgresql_refuses_to_change_or_remove_an_event(engine: Engine, statement: str) -> None:
    _event(engine)
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))
    with Session(engine) as db:
        assert [e.action for e in db.exec(select(AuditEvent)).all()] == ["person.role"]


def test_only_the_maintenance_jobs_may_remove_events(engine: Engine) -> None:
    _event(engine)
    with Session(engine) as db:
        with audit.maintenance(db):
            db.exec(text("DELETE FROM auditevent"))  # type: ignore[call-overload]
        db.commit()
    with Session(engine) as db:
        assert db.exec(select(AuditEvent)).all() == []
    _event(engine)  # and outside it the refusal holds again
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM auditevent"))
