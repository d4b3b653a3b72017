"""The page frame every page shares: navigation for each role, the Beta banner and the footer."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.models import Organisation, User
from tests.conftest import sign_up


def _nav(page: str, label: str) -> str:
    """The markup of the navigation landmark with this label ('' when the page has none)."""
    found = re.search(rf'<nav[^>]*aria-label="{label}"[^>]*>(.*?)</nav>', page, re.S)
    return found.group(1) if found else ""


def _as(client: TestClient, organisations: list[Organisation], role: str) -> TestClient:
    """Sign the client up as a new person with this role."""
    assert sign_up(client, organisations[0]).status_code == 303
    with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
        user = db.exec(select(User).where(User.email == "sam@example.org")).one()
        user.role = role
        db.add(user)
        db.commit()
    return client


def test_the_footer_links_to_privacy_and_cookies_and_names_both_partnerships(
    client: TestClient,
) -> None:
    page = client.get("/").text
    footer = page[page.index("<footer") :]
    for href, text in [("/privacy", "Privacy"), ("/cookies", "Cookies"), ("/verify", "Check a")]:
        assert f'href="{href}">{text}' in footer
    assert (
        "Offered by the Nottingham and Nottinghamshire Violence Reduction Partnership and the"
        " Leicestershire Violence Reduction Network." in footer
    )


def test_the_beta_banner_asks_for_feedback(client: TestClient) -> None:
    page = client.get("/").text
    banner = page[page.index("govuk-phase-banner") : page.index("</main>")]
    assert re.search(
        r'This is a new service – your <a class="govuk-link" href="[^"]+">feedback</a> will help'
        r" us improve it\.",
        banner,
    )
    assert "Find support" in banner and "Shift three times" in banner


def test_the_navigation_has_a_menu_button_for_small_screens(client: TestClient) -> None:
    menu = _nav(client.get("/").text, "Menu")
    button = re.search(r"<button[^>]*govuk-service-navigation__toggle[^>]*>Menu</button>", menu)
    assert button, "no Menu button in the navigation"
    assert 'aria-controls="navigation"' in button.group(0) and " hidden" in button.group(0)
    assert 'id="navigation"' in menu and 'href="/account/sign-in"' in menu


def test_a_learner_has_no_team_or_admin_links(
    client: TestClient, organisations: list[Organisation]
) -> None:
    page = _as(client, organisations, "learner").get("/learning").text
    assert not _nav(page, "Management")
    assert 'href="/manage"' not in page and 'href="/admin/api-tokens"' not in page
    menu = _nav(page, "Menu")
    for href in ("/learning", "/certificates", "/", "/account"):
        assert f'href="{href}"' in menu


def test_a_manager_gets_team_links_but_not_admin_links(
    client: TestClient, organisations: list[Organisation]
) -> None:
    page = _as(client, organisations, "manager").get("/learning").text
    team = _nav(page, "Management")
    for href in ("/manage", "/manage/assignments", "/manage/invitations", "/manage/certificates"):
        assert f'href="{href}"' in team
    assert "/admin/" not in team


def test_an_admin_gets_admin_links_in_the_second_navigation(
    client: TestClient, organisations: list[Organisation]
) -> None:
    page = _as(client, organisations, "admin").get("/admin/api-tokens").text
    admin = _nav(page, "Management")
    assert 'href="/admin/certificates"' in admin
    assert 'href="/admin/api-tokens" aria-current="page">API tokens' in admin
    assert "/admin/" not in _nav(page, "Menu")  # the main menu keeps to a learner's links


@pytest.mark.parametrize(("path", "wide"), [("/manage", True), ("/learning", False)])
def test_manager_pages_use_the_wide_layout(
    client: TestClient, organisations: list[Organisation], path: str, wide: bool
) -> None:
    page = _as(client, organisations, "manager").get(path).text
    containers = re.findall(r'class="(govuk-width-container[^"]*)"', page)
    assert len(containers) >= 3  # header, page and footer
    assert all(("app-width-container--wide" in c) is wide for c in containers), containers


def test_the_current_page_is_marked_in_the_menu(
    client: TestClient, organisations: list[Organisation]
) -> None:
    page = _as(client, organisations, "learner").get("/certificates").text
    menu = _nav(page, "Menu")
    assert menu.count('aria-current="page"') == 1
    assert re.search(
        r'href="/certificates" aria-current="page">\s*<strong[^>]*>My certificates', menu
    )
