"""Partnerships and their support contacts: data loaded from a YAML file into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, col, delete, select

from elearn.models import Partnership, SupportContact

SEED = Path(__file__).resolve().parent.parent / "seed" / "partnerships.yaml"
_CONTACT_KEYS = ("name", "description", "phone", "text", "url", "hours")


def load_partnerships(db: Session, *, path: Path = SEED) -> int:
    """Create or update partnerships and replace their support contacts from the file."""
    data: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    for position, item in enumerate(data["partnerships"]):
        partnership = db.get(Partnership, item["id"]) or Partnership(
            id=item["id"], name="", short_name=""
        )
        partnership.name, partnership.short_name = item["name"], item["short_name"]
        partnership.position = position
        db.add(partnership)
    db.flush()
    db.exec(delete(SupportContact))
    groups = [(None, data.get("national", []))] + [
        (item["id"], item.get("support", [])) for item in data["partnerships"]
    ]
    for partnership_id, contacts in groups:
        for position, contact in enumerate(contacts):
            db.add(
                SupportContact(
                    partnership_id=partnership_id,
                    position=position,
                    **{k: contact.get(k) for k in _CONTACT_KEYS},
                )
            )
    db.commit()
    return len(data["partnerships"])


def partnerships(db: Session) -> list[Partnership]:
    """Every partnership, in their set order."""
    return list(db.exec(select(Partnership).order_by(col(Partnership.position))).all())


def support_contacts(db: Session, *, partnership_id: str | None) -> list[SupportContact]:
    """A partnership's own contacts (None: the national ones), in their set order."""
    query = select(SupportContact).order_by(col(SupportContact.position))
    if partnership_id is None:
        query = query.where(col(SupportContact.partnership_id).is_(None))
    else:
        query = query.where(SupportContact.partnership_id == partnership_id)
    return list(db.exec(query).all())
