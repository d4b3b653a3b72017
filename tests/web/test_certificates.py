"""Certificates over HTTP: issued once with the track, downloaded by the right people only,
checked by anyone, revoked and re-issued by admins, zipped for managers."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from elearn import cli
from elearn.certificates import signing
from elearn.models import (
    AuditEvent,
    Certificate,
    Organisation,
    Team,
    TeamManager,
    TrackCompletion,
    User,
)
from elearn.services.passwords import hash_password
from tests.conftest import PASSWORD, MakeClient, post, sign_in, sign_up
from tests.web.test_learning import ONLY, complete_shared_basics, rows

TRACK = "/courses/sample/alpha"


def finish_alpha(client: TestClient) -> Certificate:
    """Complete the alpha track as the signed-in learner; return their newest certificate."""
    complete_shared_basics(client)
    assert client.get(f"{ONLY}/lessons/only?note=seen").status_code == 200
    mine = rows(client, Certificate)
    assert mine, "completing the track issued no certificate"
    return max(mine, key=lambda c: c.id or 0)


def stranger(client: TestClient) -> TestClient:
    """Another browser, signed out."""
    return TestClient(client.app, raise_server_exceptions=False)


def person(
    client: TestClient,
    *,
    role: str,
    partnership: str = "nottinghamshire",
    team_id: int | None = None,
    manages: int | None = None,
) -> TestClient:
    """A signed-in browser for a new person with this role."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        user = User(
            email=email,
            name=f"A {role}",
            password_hash=hash_password(PASSWORD),
            role=role,
            partnership_id=partnership,
            team_id=team_id,
        )
        db.add(user)
        db.commit()
        db.refresh(user)
        if manages is not None:
            db.add(TeamManager(team_id=manages, user_id=user.id))  # type: ignore[arg-type]
            db.commit()
    browser = stranger(client)
    assert sign_in(browser, email).status_code == 303
    return browser


def teams(client: TestClient, organisation: Organisation) -> list[Team]:
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        return list(db.exec(select(Team).where(Team.organisation_id == organisation.id)).all())


def put_in_team(client: TestClient, email: str, team_id: int) -> None:
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        user = db.exec(select(User).where(User.email == email)).one()
        user.team_id = team_id
        db.add(user)
        db.commit()


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# Issue -----------------------------------------------------------------------------------


def test_completing_a_track_issues_one_certificate_with_what_it_certifies(
    learner: TestClient,
) -> None:
    certificate = finish_alpha(learner)
    assert len(rows(learner, TrackCompletion)) == 1
    assert len(rows(learner, Certificate)) == 1
    [completion] = rows(learner, TrackCompletion)
    assert certificate.track_completion_id == completion.id
    assert (certificate.course_id, certificate.track_id) == ("sample", "alpha")
    assert certificate.holder_name == "Sam Learner"
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){6}", certificate.code)
    # Going over the track again changes nothing.
    complete_shared_basics(learner)
    learner.get(f"{ONLY}/lessons/only")
    assert len(rows(learner, Certificate)) == 1
    page = learner.get("/certificates").text
    assert "Alpha sector" in page and certificate.code in page and "Valid" in page


def test_the_pdf_is_the_one_recorded_and_checks_out_against_the_published_keys(
    learner: TestClient, tmp_path: Path
) -> None:
    certificate = finish_alpha(learner)
    download = learner.get(f"/certificates/{certificate.code}.pdf")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert "attachment" in download.headers["content-disposition"]
    assert hashlib.sha256(download.content).hexdigest() == certificate.sha256
    keys = stranger(learner).get("/certificates/keys.json")
    assert keys.status_code == 200
    published = keys.json()
    assert {k["partnership"] for k in published["keys"]} == {"nottinghamshire", "leicestershire"}
    from elearn.certificates import check

    result = check.check_pdf(download.content, signing.parse_published_keys(published))
    assert result.ok, result.problems
    assert result.data is not None and result.data.holder_name == "Sam Learner"
    assert result.data.verify_url.endswith(f"/verify/{certificate.code}")
    # Offline, with this installation's own keys, as `elearn certificates verify FILE.pdf`.
    saved = tmp_path / "certificate.pdf"
    saved.write_bytes(download.content)
    done = CliRunner().invoke(cli.app, ["certificates", "verify", str(saved)])
    assert done.exit_code == 0, done.output
    assert "Valid certificate" in done.output and "Sam Learner" in done.output


# Public verification ---------------------------------------------------------------------


def test_anyone_can_check_a_certificate_and_sees_only_what_it_certifies(
    learner: TestClient,
) -> None:
    certificate = finish_alpha(learner)
    page = stranger(learner).get(f"/verify/{certificate.code}")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "This certificate is valid" in shown
    for expected in (
        "Sam Learner",
        "Sample course",
        "Alpha sector",
        "Shared basics",
        "Nottingham and Nottinghamshire",
        certificate.sha256,
        certificate.issued_at.strftime("%-d %B %Y"),
    ):
        assert expected in shown, expected
    assert "sam@example.org" not in page.text  # nothing else personal


def test_a_code_typed_loosely_finds_its_certificate(learner: TestClient) -> None:
    certificate = finish_alpha(learner)
    typed = certificate.code.replace("-", " ").lower()
    found = stranger(learner).get("/verify", params={"code": typed}, follow_redirects=False)
    assert found.status_code == 303
    assert found.headers["location"] == f"/verify/{certificate.code}"


@pytest.mark.parametrize(
    "code",
    [
        "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
        "nonsense",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "X" * 500,
        "0000-1111-IIII-LLLL-OOOO-0000-1111",
    ],
)
def test_unknown_or_malformed_codes_get_a_plain_not_found_page(
    client: TestClient, code: str
) -> None:
    page = client.get(f"/verify/{code}")
    assert page.status_code == 404
    assert "Certificate not found" in page.text
    assert "<script>" not in page.text
    assert "something went wrong" not in page.text.lower()


def test_a_badly_typed_code_on_the_form_is_asked_again(client: TestClient) -> None:
    page = client.get("/verify", params={"code": "abc"})
    assert page.status_code == 400
    assert "Enter the code as it is printed on the certificate" in page.text
    assert 'value="abc"' in page.text


def test_checking_is_rate_limited_per_address(make_client: MakeClient) -> None:
    client = make_client(verifications_per_address_per_minute=3)
    answers = [client.get("/verify/AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA") for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert "Please wait" in answers[-1].text


# Who may download ------------------------------------------------------------------------


def test_only_the_holder_their_managers_and_their_admins_can_download(
    learner: TestClient, organisations: list[Organisation]
) -> None:
    team_a, team_b = teams(learner, organisations[0])[:2]
    put_in_team(learner, "sam@example.org", team_a.id or 0)
    certificate = finish_alpha(learner)
    url = f"/certificates/{certificate.code}.pdf"
    allowed = {
        "holder": learner,
        "manager of the team": person(learner, role="manager", manages=team_a.id),
        "admin of the partnership": person(learner, role="admin"),
    }
    refused = {
        "another learner": person(learner, role="learner", team_id=team_a.id),
        "manager of another team": person(learner, role="manager", manages=team_b.id),
        "admin of the other partnership": person(
            learner, role="admin", partnership="leicestershire"
        ),
        "author": person(learner, role="author"),
    }
    for who, browser in allowed.items():
        response = browser.get(url)
        assert response.status_code == 200, who
        assert response.content.startswith(b"%PDF"), who
    for who, browser in refused.items():
        response = browser.get(url)
        assert response.status_code == 404, who
        assert not response.content.startswith(b"%PDF"), who
    anonymous = stranger(learner).get(url, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/account/sign-in")


def test_a_learner_who_moves_partnership_keeps_their_certificates(learner: TestClient) -> None:
    certificate = finish_alpha(learner)
    with Session(learner.app.state.engine) as db:  # type: ignore[attr-defined]
        user = db.exec(select(User).where(User.email == "sam@example.org")).one()
        user.partnership_id, user.organisation_id, user.team_id = "leicestershire", None, None
        db.add(user)
        db.commit()
    assert certificate.code in learner.get("/certificates").text
    assert learner.get(f"/certificates/{certificate.code}.pdf").status_code == 200
    page = text_of(stranger(learner).get(f"/verify/{certificate.code}").text)
    assert "This certificate is valid" in page and "Nottingham and Nottinghamshire" in page


# Admins: revoke and re-issue ---------------------------------------------------------------


def test_revoking_shows_on_the_check_page_and_cannot_be_done_twice(learner: TestClient) -> None:
    certificate = finish_alpha(learner)
    admin = person(learner, role="admin")
    admin.get(f"/admin/certificates/{certificate.code}")
    empty = post(admin, f"/admin/certificates/{certificate.code}/revoke", {"reason": "  "})
    assert empty.status_code == 400
    assert "Enter the reason for revoking this certificate" in empty.text
    done = post(
        admin,
        f"/admin/certificates/{certificate.code}/revoke",
        {"reason": "Issued in error", "confirmed": "yes"},
    )
    assert done.status_code == 303
    page = text_of(stranger(learner).get(f"/verify/{certificate.code}").text)
    assert "This certificate has been revoked" in page
    assert "Reason: Issued in error" in page
    again = post(admin, f"/admin/certificates/{certificate.code}/revoke", {"reason": "Again"})
    assert again.status_code == 409
    assert "already revoked" in again.text
    again = post(
        admin,
        f"/admin/certificates/{certificate.code}/revoke",
        {"reason": "Again", "confirmed": "yes"},
    )
    assert again.status_code == 409
    assert "already revoked" in again.text
    [event] = rows(learner, AuditEvent, AuditEvent.action == "certificate.revoke")
    assert certificate.code in event.detail and "Issued in error" in event.detail


def test_revoking_asks_first_showing_what_the_check_page_will_say(learner: TestClient) -> None:
    certificate = finish_alpha(learner)
    admin = person(learner, role="admin")
    detail = admin.get(f"/admin/certificates/{certificate.code}")
    assert f'action="/admin/certificates/{certificate.code}/revoke"' in detail.text
    asked = post(
        admin, f"/admin/certificates/{certificate.code}/revoke", {"reason": "  Issued in error "}
    )
    assert asked.status_code == 200
    words = text_of(asked.text)
    assert "Are you sure you want to revoke Sam Learner’s certificate?" in words
    assert "Revoking cannot be undone" in words and "Issued in error" in words
    assert 'name="confirmed" value="yes"' in asked.text
    assert 'name="reason" value="Issued in error"' in asked.text
    assert f'href="/admin/certificates/{certificate.code}">No, keep it valid</a>' in asked.text
    # Asking changed nothing; cancelling is a link back to a page that still says valid.
    assert rows(learner, Certificate)[0].revoked_at is None
    assert rows(learner, AuditEvent, AuditEvent.action == "certificate.revoke") == []
    back = text_of(admin.get(f"/admin/certificates/{certificate.code}").text)
    assert "Valid" in back
    assert "This certificate is valid" in text_of(
        stranger(learner).get(f"/verify/{certificate.code}").text
    )
    confirmed = post(
        admin,
        f"/admin/certificates/{certificate.code}/revoke",
        {"reason": "Issued in error", "confirmed": "yes"},
    )
    assert confirmed.status_code == 303
    assert "The certificate is revoked" in admin.get(confirmed.headers["location"]).text
    assert rows(learner, Certificate)[0].revoked_reason == "Issued in error"


def test_reissuing_after_a_name_correction_supersedes_the_old_certificate(
    learner: TestClient,
) -> None:
    old = finish_alpha(learner)
    admin = person(learner, role="admin")
    admin.get(f"/admin/certificates/{old.code}")
    blank = post(admin, f"/admin/certificates/{old.code}/reissue", {"holder_name": ""})
    assert blank.status_code == 400 and "Enter the name" in blank.text
    boxes = post(
        admin, f"/admin/certificates/{old.code}/reissue", {"holder_name": "Sam \U00013000"}
    )
    assert boxes.status_code == 400 and "cannot print \U00013000" in boxes.text
    assert 'value="Sam \U00013000"' in boxes.text  # what was typed is kept
    done = post(admin, f"/admin/certificates/{old.code}/reissue", {"holder_name": "Samira Learner"})
    assert done.status_code == 303
    new = max(rows(learner, Certificate), key=lambda c: c.id or 0)
    assert new.code != old.code and new.holder_name == "Samira Learner"
    assert done.headers["location"].startswith(f"/admin/certificates/{new.code}")
    old_page = text_of(stranger(learner).get(f"/verify/{old.code}").text)
    assert "This certificate has been replaced" in old_page and new.code in old_page
    new_page = text_of(stranger(learner).get(f"/verify/{new.code}").text)
    assert "This certificate is valid" in new_page and "Samira Learner" in new_page
    assert old.code in new_page  # "Replaces"
    download = learner.get(f"/certificates/{new.code}.pdf")
    assert hashlib.sha256(download.content).hexdigest() == new.sha256
    # The old one can be neither re-issued nor ... the new one can still be revoked.
    refused = post(admin, f"/admin/certificates/{old.code}/reissue", {"holder_name": "X Y"})
    assert refused.status_code == 409 and "already been replaced" in refused.text
    [event] = rows(learner, AuditEvent, AuditEvent.action == "certificate.reissue")
    assert old.code in event.detail and new.code in event.detail
    assert "Samira Learner" in learner.get("/account").text  # the account name follows


def test_a_revoked_certificate_cannot_be_reissued(learner: TestClient) -> None:
    certificate = finish_alpha(learner)
    admin = person(learner, role="admin")
    admin.get(f"/admin/certificates/{certificate.code}")
    post(
        admin,
        f"/admin/certificates/{certificate.code}/revoke",
        {"reason": "Issued in error", "confirmed": "yes"},
    )
    refused = post(
        admin, f"/admin/certificates/{certificate.code}/reissue", {"holder_name": "Sam Other"}
    )
    assert refused.status_code == 409
    assert "A revoked certificate cannot be re-issued" in refused.text
    assert len(rows(learner, Certificate)) == 1


def test_admin_pages_are_for_admins_of_the_right_partnership(learner: TestClient) -> None:
    certificate = finish_alpha(learner)
    other_admin = person(learner, role="admin", partnership="leicestershire")
    manager = person(learner, role="manager")
    for browser in (other_admin, manager, learner):
        assert browser.get(f"/admin/certificates/{certificate.code}").status_code == 404
        browser.get("/certificates")
        for confirmed in ("", "yes"):
            response = post(
                browser,
                f"/admin/certificates/{certificate.code}/revoke",
                {"reason": "No", "confirmed": confirmed},
            )
            assert response.status_code == 404
    assert rows(learner, Certificate)[0].revoked_at is None
    admin = person(learner, role="admin")
    found = admin.get("/admin/certificates", params={"q": "sam learn"})
    assert certificate.code in found.text
    assert certificate.code not in other_admin.get("/admin/certificates", params={"q": "Sam"}).text


# Managers: a ZIP of a team's certificates -------------------------------------------------


def test_a_manager_downloads_their_teams_certificates_as_a_zip(
    learner: TestClient, organisations: list[Organisation]
) -> None:
    team_a, team_b = teams(learner, organisations[0])[:2]
    put_in_team(learner, "sam@example.org", team_a.id or 0)
    mine = finish_alpha(learner)
    other = stranger(learner)
    sign_up(other, organisations[0], name="Alex Other", email="alex@example.org")
    put_in_team(learner, "alex@example.org", team_b.id or 0)
    post(other, "/courses/sample/alpha/enrol")
    theirs = finish_alpha(other)
    manager = person(learner, role="manager", manages=team_a.id)
    listing = manager.get("/manage/certificates")
    assert listing.status_code == 200
    assert "Sam Learner" in listing.text and "Alex Other" not in listing.text
    response = manager.get("/manage/certificates.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert len(names) == 1 and mine.code in names[0] and names[0].endswith(".pdf")
    assert hashlib.sha256(archive.read(names[0])).hexdigest() == mine.sha256
    assert theirs.code not in response.content.decode("latin-1")
    # Asking for a team they do not manage shows nothing.
    assert manager.get("/manage/certificates.zip", params={"team": team_b.id}).status_code == 404
    assert manager.get("/manage/certificates", params={"team": team_b.id}).status_code == 404
    # An admin gets both, filtered by team like a manager.
    admin = person(learner, role="admin")
    both = zipfile.ZipFile(io.BytesIO(admin.get("/manage/certificates.zip").content))
    assert len(both.namelist()) == 2
    one = admin.get("/manage/certificates.zip", params={"team": team_b.id})
    assert [theirs.code in n for n in zipfile.ZipFile(io.BytesIO(one.content)).namelist()] == [True]
    # Learners have no such page.
    assert learner.get("/manage/certificates").status_code == 404
    assert learner.get("/manage/certificates.zip").status_code == 404


def test_a_failure_while_issuing_rolls_back_the_completion(
    learner: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from elearn.certificates import pdf

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("the printer caught fire")

    monkeypatch.setattr(pdf, "render", broken)
    complete_shared_basics(learner)
    failed = learner.get(f"{ONLY}/lessons/only?note=seen")
    assert failed.status_code == 500
    assert rows(learner, TrackCompletion) == [] and rows(learner, Certificate) == []
    monkeypatch.undo()
    learner.get(f"{ONLY}/lessons/only?note=seen")
    assert len(rows(learner, TrackCompletion)) == len(rows(learner, Certificate)) == 1
    with Session(learner.app.state.engine) as db:  # type: ignore[attr-defined]
        assert db.exec(select(func.count()).select_from(Certificate)).one() == 1
        assert db.exec(select(col(Certificate.code))).one()


def test_a_name_in_any_script_downloads_after_a_reissue(learner: TestClient) -> None:
    old = finish_alpha(learner)
    admin = person(learner, role="admin")
    admin.get(f"/admin/certificates/{old.code}")
    done = post(admin, f"/admin/certificates/{old.code}/reissue", {"holder_name": "Łucja Śliwa"})
    assert done.status_code == 303
    new = max(rows(learner, Certificate), key=lambda c: c.id or 0)
    download = learner.get(f"/certificates/{new.code}.pdf")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == new.sha256
    disposition = download.headers["content-disposition"]
    assert "filename*=UTF-8''%C5%81ucja-%C5%9Aliwa-" in disposition
    assert 'filename="Lucja-Sliwa-' in disposition
