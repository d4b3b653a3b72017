"""After a session times out, people are told why they must sign in, and htmx posts are not lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.models import AuthSession, KeptForm, Organisation, QuizAttempt, Reflection
from tests.conftest import post, quiz_form, sign_in, sign_up


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


# A form sent after the timeout is kept and completed at the next sign-in ----------------------

BASE = "/courses/sample/alpha/shared-basics"
THINK = f"{BASE}/lessons/think"


def _send_reflection_after_timeout(learner: TestClient, db: Session, text: str) -> Any:
    learner.get(f"{BASE}/lessons/first?note=seen")
    learner.get(THINK)
    _expire_every_session(db, 61)
    response = post(
        learner,
        f"{THINK}/reflection",
        {"text": text},
        headers={"Referer": f"http://testserver{THINK}"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/account/sign-in?next={THINK}&reason=timeout")
    return response


def test_a_reflection_sent_after_timeout_is_saved_once_the_learner_signs_in(
    learner: TestClient, db: Session
) -> None:
    _send_reflection_after_timeout(learner, db, "What I wrote over a long hour")
    page = learner.get(f"/account/sign-in?next={THINK}&reason=timeout").text
    assert "What you sent has been kept" in page
    assert db.exec(select(Reflection)).all() == []  # nothing saved before signing in

    signed_in = sign_in(learner, "sam@example.org")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == f"{THINK}?saved=saved#reflection"
    lesson = learner.get(signed_in.headers["location"]).text
    assert "Your reflection is saved" in lesson and "What I wrote over a long hour" in lesson
    [saved] = db.exec(select(Reflection)).all()
    assert saved.text == "What I wrote over a long hour"
    assert db.exec(select(KeptForm)).all() == []
    # Signing in again later does not send it twice.
    post(learner, "/account/sign-out")
    assert sign_in(learner, "sam@example.org").headers["location"] == "/learning"
    assert len(db.exec(select(Reflection)).all()) == 1


def test_someone_else_signing_in_on_that_browser_discards_the_kept_form(
    learner: TestClient, db: Session, organisations: list[Organisation]
) -> None:
    _send_reflection_after_timeout(learner, db, "Private to Sam")
    learner.cookies.delete("elearn_session")
    kept_cookie = learner.cookies.get("elearn_kept")
    assert kept_cookie
    other = sign_up(learner, organisations[0], name="Ola Other", email="ola@example.org")
    assert other.status_code == 303
    learner.cookies.set("elearn_kept", kept_cookie)
    post(learner, "/account/sign-out")
    signed_in = sign_in(learner, "ola@example.org")
    assert signed_in.headers["location"] == "/learning"
    assert db.exec(select(Reflection)).all() == []
    assert db.exec(select(KeptForm)).all() == []


def test_quiz_answers_sent_after_timeout_are_scored_after_sign_in(
    learner: TestClient, db: Session
) -> None:
    started = post(learner, f"{BASE}/quiz")
    url = started.headers["location"]
    shown = learner.get(url).text
    answers = quiz_form(shown, {"q1": ["0"], "q2": ["0", "1"], "q3": ["false"]})
    _expire_every_session(db, 61)
    response = post(learner, url, answers, headers={"Referer": f"http://testserver{url}"})
    assert response.headers["location"].startswith(f"/account/sign-in?next={url}&reason=timeout")
    signed_in = sign_in(learner, "sam@example.org")
    assert signed_in.headers["location"] == f"{url}#results"
    [attempt] = db.exec(select(QuizAttempt)).all()
    assert attempt.score == 100 and attempt.passed


def test_an_old_kept_form_is_not_sent(learner: TestClient, db: Session) -> None:
    _send_reflection_after_timeout(learner, db, "Written yesterday")
    for row in db.exec(select(KeptForm)).all():
        row.created_at = row.created_at - timedelta(hours=25)
        db.add(row)
    db.commit()
    assert "What you sent has been kept" not in learner.get("/account/sign-in").text
    assert sign_in(learner, "sam@example.org").headers["location"] == "/learning"
    assert db.exec(select(Reflection)).all() == []


def test_a_form_without_a_session_that_just_ended_is_not_kept(
    client: TestClient, db: Session, organisations: list[Organisation]
) -> None:
    response = post(client, f"{THINK}/reflection", {"text": "From nowhere"})
    assert response.status_code == 303
    assert "elearn_kept" not in response.headers.get("set-cookie", "")
    assert db.exec(select(KeptForm)).all() == []


def test_stay_signed_in_counts_as_activity(learner: TestClient, db: Session) -> None:
    _expire_every_session(db, 59)
    response = post(learner, "/account/session", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json()["signed_in"] is True
    _expire_every_session(db, 30)  # 30 minutes after staying signed in: still signed in
    assert learner.get("/learning", follow_redirects=False).status_code == 200


def test_stay_signed_in_after_the_timeout_goes_to_sign_in(learner: TestClient, db: Session) -> None:
    _expire_every_session(db, 61)
    response = post(learner, "/account/session", headers={"Accept": "application/json"})
    assert response.status_code == 303 and "/account/sign-in" in response.headers["location"]
    assert db.exec(select(KeptForm)).all() == []


def test_signed_in_pages_carry_the_timeout_warning(learner: TestClient) -> None:
    page = learner.get("/learning").text
    assert 'id="session-timeout"' in page and 'data-idle-seconds="3600"' in page
    assert "/static/js/session-timeout.js" in page


def test_visitors_get_no_timeout_warning(client: TestClient) -> None:
    assert 'id="session-timeout"' not in client.get("/").text
