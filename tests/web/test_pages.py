"""The first server: course, track and module pages, health, errors and headers."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import post


def test_home_lists_courses_and_tracks(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Sample course" in page.text
    assert 'href="/courses/sample/alpha"' in page.text and "Beta sector" in page.text


def test_track_page_lists_its_modules_in_order(client: TestClient) -> None:
    page = client.get("/courses/sample/alpha").text
    assert page.index("Shared basics") < page.index("Alpha only")
    assert "Includes a content note" in page


def test_module_page_gives_an_overview_with_its_content_note(client: TestClient) -> None:
    page = client.get("/courses/sample/alpha/shared-basics").text
    assert "Content note" in page and "difficult experiences" in page
    assert 'href="/courses/sample/alpha/shared-basics/lessons/first"' in page
    assert "Working definition of trauma-informed practice" in page  # sources are cited
    assert 'href="/courses/sample/alpha/shared-basics/start"' in page


def test_lesson_pages_show_the_track_variant(learner: TestClient) -> None:
    post(learner, "/courses/sample/beta/enrol")
    alpha = learner.get("/courses/sample/alpha/shared-basics/lessons/first?note=seen").text
    beta = learner.get("/courses/sample/beta/shared-basics/lessons/first").text
    assert "Alpha replaces the text." in alpha and "The shared text" not in alpha
    assert "The shared text" in beta and "Beta adds a paragraph." in beta


def test_a_module_outside_the_track_is_not_found(client: TestClient) -> None:
    page = client.get("/courses/sample/beta/alpha-only")
    assert page.status_code == 404 and "Page not found" in page.text


@pytest.mark.parametrize("url", ["/nowhere", "/courses/nope/alpha", "/courses/sample/nope"])
def test_unknown_routes_get_a_calm_404_page(client: TestClient, url: str) -> None:
    page = client.get(url)
    assert page.status_code == 404
    assert "Page not found" in page.text and "Traceback" not in page.text
    assert 'href="/support"' in page.text  # support is still one click away


def test_404_as_json_when_json_is_asked_for(client: TestClient) -> None:
    response = client.get("/nowhere", headers={"accept": "application/json"})
    assert response.status_code == 404 and response.json()["error"] == "Page not found"


def test_unexpected_error_shows_an_id_and_logs_the_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        @property
        def current(self) -> None:
            raise RuntimeError("catalogue exploded")

    client.app.state.catalog = Broken()  # type: ignore[attr-defined]
    caplog.set_level(logging.ERROR)
    page = client.get("/")
    assert page.status_code == 500
    assert "catalogue exploded" not in page.text and "Traceback" not in page.text
    error_id = re.search(r'class="app-error-id">([0-9a-f]{8})<', page.text)
    assert error_id is not None
    record = next(r for r in caplog.records if error_id.group(1) in r.getMessage())
    assert record.exc_info is not None and "catalogue exploded" in str(record.exc_info[1])


def test_health_reports_database_and_content_version(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{12}", body["content"]["version"])
    assert body["content"]["modules"] == 2


def test_pages_link_only_local_assets(client: TestClient) -> None:
    for url in (
        "/",
        "/courses/sample/alpha",
        "/courses/sample/alpha/shared-basics",
        "/support",
        "/account/sign-in",
        "/account/sign-up",
        "/accessibility",
    ):
        page = client.get(url).text
        assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', page)
        assert assets and all(a.startswith("/static/") for a in assets), assets


def test_static_assets_are_served(client: TestClient) -> None:
    for path in (
        "/static/htmx/htmx.min.js",
        "/static/govuk/app.min.css",
        "/static/govuk/govuk-frontend.min.js",
        "/static/js/app.js",
    ):
        assert client.get(path).status_code == 200, path


def test_security_headers_on_every_response(client: TestClient) -> None:
    for url in ("/", "/nowhere", "/health"):
        headers = client.get(url).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_every_page_offers_exit_and_support(client: TestClient) -> None:
    page = client.get("/courses/sample/alpha").text
    assert "Exit this page" in page and 'href="https://www.bbc.co.uk/weather"' in page
    assert 'href="/support"' in page and 'href="#main-content"' in page
