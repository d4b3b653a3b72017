"""After a session times out, people are told why they must sign in, and htmx posts are not lost."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.models import AuthSession
from tests.conftest import post


def _expire_every_session(db: Session, minutes: int) -> None:
    for row in db.exec(select(AuthSession)).all():
        row.last_seen_at = row.last_seen_at - timedelta(minutes=minutes)
        db.add(row)
    db.commit()


def test_sign_in_says_the_session_timed_out(learner: TestClient, db: Session) -> None:
    _expire_every_session(db, 61)
    response = learner.get("/learning", follow_redirects=False)
    assert response.status_code == 303
    assert "reason=timeout" in response.headers["location"]
    page = learner.get(response.headers["location"]).text
    assert "You were signed out after 60 minutes without activity" in page


def test_a_visitor_following_a_link_is_told_to_sign_in(client: TestClient) -> None:
    response = client.get("/learning", follow_redirects=False)
    page = client.get(response.headers["location"]).text
    assert "You need to sign in to see that page." in page
    assert "without activity" not in page


def test_an_htmx_post_after_timeout_is_sent_to_sign_in(learner: TestClient, db: Session) -> None:
    _expire_every_session(db, 61)
    response = post(
        learner,
        "/courses/sample/alpha/enrol",
        headers={"HX-Request": "true", "Referer": "http://testserver/learning"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith(
        "/account/sign-in?next=/learning&reason=timeout"
    )
