"""Saying plainly what is kept and who sees it: privacy, cookies, the accessibility statement,
feedback, pages the browser never keeps, and an exit that also signs out."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.web.test_accounts import app_of


def test_the_privacy_notice_says_what_is_kept_and_who_sees_it(client: TestClient) -> None:
    page = client.get("/privacy")
    assert page.status_code == 200
    text = page.text
    assert "Only you" in text and "reflections" in text and "best quiz score" in text
    contact = app_of(client).state.settings.privacy_contact
    assert f"mailto:{contact}" in text
    assert "Information Commissioner" in text
    assert 'href="/privacy"' in client.get("/").text  # from the footer
    assert 'href="/privacy"' in client.get("/account/sign-up").text


def test_the_cookies_page_lists_only_essential_cookies(client: TestClient) -> None:
    page = client.get("/cookies")
    assert page.status_code == 200
    assert "elearn_session" in page.text and "elearn_csrf" in page.text
    assert "analytics" in page.text  # says there are none


def test_the_accessibility_statement_has_no_placeholders_and_names_the_contact(
    client: TestClient,
) -> None:
    page = client.get("/accessibility").text
    assert "To be confirmed" not in page and "will be published here" not in page
    contact = app_of(client).state.settings.accessibility_contact
    assert f'href="mailto:{contact}"' in page
    assert "axe-core" in page and "320 pixels" in page


def test_the_practice_levels_are_explained(client: TestClient) -> None:
    page = client.get("/practice-levels").text
    for level in ("Trauma-informed", "Trauma-skilled", "Trauma-enhanced", "Trauma-specialist"):
        assert level in page
    assert 'href="/practice-levels"' in client.get("/").text


def test_the_beta_banner_asks_for_feedback(client: TestClient) -> None:
    assert "feedback</a> will help us improve it" in client.get("/").text


def test_pages_are_never_stored_by_the_browser_but_static_files_may_be(
    client: TestClient,
) -> None:
    assert client.get("/learning", follow_redirects=False).headers["cache-control"] == "no-store"
    assert client.get("/").headers["cache-control"] == "no-store"
    assert client.get("/static/js/exit.js").headers.get("cache-control") != "no-store"


def test_exit_this_page_signs_out_when_clicked_on_this_site(
    learner: TestClient, settings: Any
) -> None:
    client = learner
    page = client.get("/learning")
    assert page.status_code == 200 and 'href="/exit"' in page.text
    left = client.get("/exit", headers={"sec-fetch-site": "same-origin"}, follow_redirects=False)
    assert left.status_code == 303 and left.headers["location"] == settings.exit_url
    assert client.get("/learning", follow_redirects=False).status_code in (302, 303)


def test_another_site_linking_to_exit_does_not_sign_anyone_out(learner: TestClient) -> None:
    client = learner
    left = client.get("/exit", headers={"sec-fetch-site": "cross-site"}, follow_redirects=False)
    assert left.status_code == 303
    assert client.get("/learning", follow_redirects=False).status_code == 200
