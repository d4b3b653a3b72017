"""Support signposting a learner sees: the support page's contacts and the content note's link."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.models import Organisation, User

NOTE = "/courses/sample/alpha/shared-basics/start"


def test_the_support_page_lists_national_lines_for_every_sector(
    client: TestClient, organisations: list[Organisation]
) -> None:
    page = client.get("/support")
    assert page.status_code == 200
    text = page.text
    assert "Rape Crisis 24/7 Support Line" in text and 'href="tel:08085002222"' in text
    assert "Education Support helpline" in text and 'href="tel:08000562561"' in text
    assert "Police Care UK" in text and "Oscar Kilo" in text
    assert 'href="tel:116123"' in text and "SHOUT to 85258" in text
    assert "choose option 2" in text


def test_each_partnership_page_uses_its_current_name(
    client: TestClient, organisations: list[Organisation]
) -> None:
    notts = client.get("/support/nottinghamshire")
    assert notts.status_code == 200 and "0808 196 3779" in notts.text
    leics = client.get("/support/leicestershire")
    assert leics.status_code == 200 and "0808 800 3302" in leics.text
    assert "Violence Reduction Unit" not in notts.text + leics.text


def test_the_content_note_links_to_the_learners_own_support_page(
    learner: TestClient, db: Session
) -> None:
    user = db.exec(select(User).where(User.email == "sam@example.org")).one()
    assert user.partnership_id
    note = learner.get(NOTE)
    assert note.status_code == 200
    inset = re.search(r'<div class="govuk-inset-text">(.*?)</div>', note.text, re.S)
    assert inset is not None
    own = f'href="/support/{user.partnership_id}"'
    assert own in inset.group(1) and "find support in your area" in inset.group(1)
    assert re.search(rf"<a [^>]*{own}>Find support</a>", note.text)
    # Their own area's contacts are one click away.
    assert learner.get(f"/support/{user.partnership_id}").status_code == 200
