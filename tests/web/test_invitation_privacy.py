"""A manager's invitation form says nothing about accounts outside their partnership."""
# ruff: noqa: F811 (the fixtures imported below are used by name as parameters)

from __future__ import annotations

from sqlmodel import select

from elearn.models import Invitation, User
from tests.web.test_manage_invitations import (  # noqa: F401 - fixtures
    PAGE,
    World,
    _quick_hashing,
    one,
    smtp,
    world,
)


def test_an_account_in_another_partnership_is_invited_like_anyone_new(world: World) -> None:
    with world.db() as db:
        db.add(
            User(
                email="elsewhere@example.org",
                name="Lee Elsewhere",
                password_hash="x",
                partnership_id="leicestershire",
            )
        )
        db.add(
            User(
                email="here@example.org",
                name="Hana Here",
                password_hash="x",
                partnership_id="nottinghamshire",
            )
        )
        db.commit()
    manager = world.manager_of_a()
    manager.get(PAGE)
    elsewhere = one(manager, world.a, "Elsewhere@Example.org")
    fresh = one(manager, world.a, "newcomer@example.org")
    assert elsewhere.status_code == fresh.status_code == 200
    assert "already has an account" not in elsewhere.text
    # Within the partnership the manager is still told, so nobody is invited twice.
    here = one(manager, world.a, "here@example.org")
    assert here.status_code == 400 and "already has an account" in here.text
    with world.db() as db:
        invited = {i.email for i in db.exec(select(Invitation)).all()}
    assert invited == {"elsewhere@example.org", "newcomer@example.org"}
