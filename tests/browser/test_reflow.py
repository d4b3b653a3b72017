"""Every page reflows on a phone and at 400% zoom (WCAG 2.2 1.4.10).

Each demo role (a learner who finished a track, a team manager, an admin) and a signed-out
visitor visit every page a person of that role reaches, at 320 x 640 CSS px and at 1280 x 800
zoomed to 400% (320 x 200 CSS px): the page never scrolls sideways, and wide tables scroll
inside their own labelled, focusable region. The navigation collapses behind a Menu button
that works by keyboard, still works without JavaScript, and leaves a lesson's heading on a
phone's first screen; on a wide screen an admin's navigation fits one line and manager pages
use the whole width.

Set REFLOW_SHOTS to a folder to also save screenshots of the narrow pages there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, col, select

from elearn.config import load_settings
from elearn.models import Certificate, Team, User
from elearn.services.demo import seed_learners
from elearn.services.passwords import hash_password
from tests.browser.conftest import (
    LiveServer,
    assert_focus_visible,
    describe_violations,
    form_post,
    new_context,
    run_axe,
    tab_to,
)
from tests.conftest import PASSWORD, REAL_COURSES

COURSE = "trauma-informed-practice"
TRACK = f"/courses/{COURSE}/education"
MODULE = f"{TRACK}/understanding-trauma"
LONG_EMAIL = "a.very.long.address.for.checking.reflow@partnership-services.example.org"
EMAILS = {
    "learner": "finished.learner@nottinghamshire.demo.example",
    "manager": "manager@nottinghamshire.demo.example",
    "admin": "admin@nottinghamshire.demo.example",
}
SIZES: dict[str, dict[str, Any]] = {
    "320 x 640": {"viewport": {"width": 320, "height": 640}},
    "1280 x 800 at 400%": {"viewport": {"width": 320, "height": 200}, "device_scale_factor": 4},
}
PHONE = SIZES["320 x 640"]
SHOTS = os.environ.get("REFLOW_SHOTS")


@dataclass
class Demo:
    """Signed-in browser state for each role, and the pages each role reaches."""

    server: LiveServer
    states: dict[str, Any]
    pages: dict[str, list[str]]


def _first_lesson(server: LiveServer) -> str:
    course = server.catalog.course(COURSE)
    assert course is not None
    lesson = course.modules["understanding-trauma"].lessons("education")[0]
    return f"{MODULE}/lessons/{lesson.id}"


@pytest.fixture(scope="module")
def demo(
    browser: Browser, real_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The demo people on the real course, a finished learner's certificate, an invitation
    with a long email address and an API token, and each role signed in once."""
    settings = load_settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("reflow-data"),
        courses_dir=REAL_COURSES,
        reload_courses=False,
    )
    with Session(real_server.engine) as db:
        seed_learners(db, real_server.catalog, settings)
        users = {
            role: db.exec(select(User).where(User.email == email)).one()
            for role, email in EMAILS.items()
        }
        for user in users.values():
            user.password_hash = hash_password(PASSWORD)
            db.add(user)
        db.commit()
        learner_id = users["learner"].id
        team = db.get(Team, users["manager"].team_id)
        assert team is not None
        certificate = db.exec(
            select(Certificate)
            .where(Certificate.user_id == learner_id)
            .order_by(col(Certificate.id))
        ).first()
        assert certificate is not None, "the finished demo learner has no certificate"
        code = certificate.code

    states = {}
    for role, email in EMAILS.items():
        context = new_context(browser, real_server)
        assert context.request.get("/account/sign-in").ok
        response = form_post(context, "/account/sign-in", {"email": email, "password": PASSWORD})
        assert response.status == 303, f"{role} could not sign in"
        if role == "learner":
            attempt = form_post(context, f"{MODULE}/quiz").headers["location"]
        if role == "manager":
            form_post(
                context,
                "/manage/invitations",
                {
                    "name": "Rowan Reflow",
                    "email": LONG_EMAIL,
                    "team": str(team.id),
                    "role": "learner",
                },
            )
        if role == "admin":
            form_post(context, "/admin/api-tokens", {"name": "Partnership data team dashboard"})
        states[role] = context.storage_state()
        context.close()

    everyone = ["/", "/support", "/support/nottinghamshire", "/verify", f"/verify/{code}"]
    mine = ["/learning", "/learning/reflections", "/certificates", "/account"]
    managing = [
        "/manage",
        f"/manage/people/{learner_id}",
        "/manage/assignments",
        "/manage/invitations",
        "/manage/certificates",
    ]
    learning = [TRACK, MODULE, f"{MODULE}/start", _first_lesson(real_server), f"{MODULE}/quiz"]
    learning.append(attempt)
    signed_out = ["/account/sign-in", "/account/sign-up", "/account/forgot", "/accessibility"]
    pages = {
        "visitor": everyone + signed_out + [TRACK, MODULE],
        "learner": mine + learning + everyone + ["/accessibility"],
        "manager": managing + mine + everyone,
        "admin": managing
        + ["/admin/certificates?q=Demo", f"/admin/certificates/{code}", "/admin/api-tokens"]
        + mine,
    }
    yield Demo(real_server, states, pages)


def signed_in(browser: Browser, demo: Demo, role: str, **options: Any) -> BrowserContext:
    """A new browser context signed in as the demo person with this role (or signed out)."""
    return new_context(
        browser, demo.server, storage_state=demo.states.get(role), bypass_csp=True, **options
    )


@pytest.fixture
def phone(browser: Browser, demo: Demo) -> Iterator[Page]:
    """The demo learner on a 320 x 640 screen, JavaScript on."""
    context = signed_in(browser, demo, "learner", **PHONE)
    try:
        yield context.new_page()
    finally:
        context.close()


LAYOUT_JS = """
() => {
  const label = (el) => el.getAttribute("aria-label") ||
    (el.getAttribute("aria-labelledby") || "").split(" ")
      .map((id) => (document.getElementById(id) || {}).textContent || "").join(" ").trim();
  const main = document.querySelector("main");
  const room = main.getBoundingClientRect().width;
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    // Tables wider than the page that do not sit in a scroll region of their own.
    loose: [...main.querySelectorAll("table")]
      .filter((t) => !t.closest(".app-table-scroll") && t.getBoundingClientRect().width > room + 1)
      .map((t) => (t.caption ? t.caption.textContent.trim() : t.outerHTML.slice(0, 60))),
    regions: [...main.querySelectorAll(".app-table-scroll")].map((r) => ({
      role: r.getAttribute("role"), tabindex: r.getAttribute("tabindex"), label: label(r),
    })),
    // Where the page first grows too wide: elements sticking out of a parent that fits.
    culprits: [...document.body.querySelectorAll("*")]
      .filter((e) => e.getBoundingClientRect().right > innerWidth + 1 &&
                     e.parentElement.getBoundingClientRect().right <= innerWidth + 1)
      .slice(0, 5).map((e) => e.outerHTML.slice(0, 100)),
  };
}
"""


def layout_problems(page: Page, path: str) -> list[str]:
    """What is wrong with the page's reflow: sideways scrolling, loose or unlabelled tables."""
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    found = page.evaluate(LAYOUT_JS)
    problems = []
    if found["scrollWidth"] > found["innerWidth"]:
        problems.append(
            f"{path} scrolls sideways: {found['scrollWidth']} px wide in {found['innerWidth']},"
            f" from {found['culprits']}"
        )
    problems += [f"{path}: table {caption!r} is wider than the page" for caption in found["loose"]]
    for region in found["regions"]:
        if region["role"] != "region" or region["tabindex"] != "0" or not region["label"]:
            problems.append(
                f"{path}: a table's scroll region is not labelled and focusable: {region}"
            )
    return problems


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("role", ["visitor", *EMAILS])
def test_no_page_scrolls_sideways(browser: Browser, demo: Demo, role: str, size: str) -> None:
    context = signed_in(browser, demo, role, **SIZES[size])
    page = context.new_page()
    try:
        problems = [problem for path in demo.pages[role] for problem in layout_problems(page, path)]
    finally:
        context.close()
    assert not problems, f"as the demo {role} at {size}:\n" + "\n".join(problems)


def test_the_wide_tables_scroll_in_their_own_regions(browser: Browser, demo: Demo) -> None:
    """The tester's list: each of these pages has its table in a labelled scroll region."""
    context = signed_in(browser, demo, "admin", **PHONE)
    page = context.new_page()
    expected = {
        "/manage": "people",
        "/manage/assignments": "Training required now",
        "/manage/invitations": "Recent invitations",
        "/manage/certificates": "Certificates of your teams",
        "/admin/certificates?q=Demo": "Certificates found",
        "/admin/api-tokens": "API tokens for your partnership",
    }
    try:
        for path, name in expected.items():
            page.goto(path)
            region = page.get_by_role("region", name=name)
            expect(region).to_have_count(1)
            expect(region.locator("table")).to_have_count(1)
    finally:
        context.close()


def test_a_table_region_is_scrolled_by_keyboard_with_a_visible_focus(
    browser: Browser, demo: Demo
) -> None:
    context = signed_in(browser, demo, "manager", **PHONE)
    page = context.new_page()
    try:
        page.goto("/manage/invitations")
        region = page.get_by_role("region", name="Recent invitations")
        tab_to(page, region, limit=200)
        assert_focus_visible(page)
        assert region.evaluate("r => r.scrollLeft") == 0
        page.keyboard.press("ArrowRight")
        page.keyboard.press("End")
        page.wait_for_function(
            "() => document.querySelector('[aria-label=\"Recent invitations\"]').scrollLeft > 0"
        )
        expect(page.get_by_role("cell", name=LONG_EMAIL, exact=True)).to_have_count(1)
    finally:
        context.close()


def test_long_email_addresses_wrap_on_the_persons_page(browser: Browser, demo: Demo) -> None:
    """A summary of someone with a long address fits: the address wraps instead."""
    context = signed_in(browser, demo, "learner", **PHONE)
    page = context.new_page()
    try:
        page.goto("/account")
        page.evaluate(
            """(email) => document.querySelector("main h1").insertAdjacentHTML(
                   "afterend", `<p class="govuk-body" id="planted">${email}</p>`)""",
            LONG_EMAIL.replace(".", "") * 2,
        )
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 320, f"a long unbroken word made the page {width} px wide"
        height = page.locator("#planted").bounding_box()
        assert height is not None and height["height"] > 40, "the long word did not wrap"
    finally:
        context.close()


def test_the_menu_button_collapses_the_navigation_and_opens_by_keyboard(phone: Page) -> None:
    phone.goto("/learning")
    menu = phone.get_by_role("button", name="Menu")
    links = phone.get_by_role("navigation", name="Menu").get_by_role("link", name="My certificates")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(links).to_be_hidden()
    tab_to(phone, menu)
    assert_focus_visible(phone)
    phone.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(links).to_be_visible()
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=f"{SHOTS}/reflow-menu-open.png")
    phone.keyboard.press("Space")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(links).to_be_hidden()
    phone.keyboard.press(" ")
    expect(links).to_be_visible()
    phone.keyboard.press("Tab")
    phone.keyboard.press("Tab")
    assert phone.evaluate("() => document.activeElement.textContent.trim()") == "My certificates"
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(f"{phone.url.split('/learning')[0]}/certificates")
    expect(phone.get_by_role("heading", level=1)).to_have_text("My certificates")


def test_the_menu_is_not_there_on_a_wide_screen(browser: Browser, demo: Demo) -> None:
    context = signed_in(browser, demo, "learner", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto("/learning")
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        navigation = page.locator("#navigation")
        expect(navigation.get_by_role("link", name="My certificates")).to_be_visible()
    finally:
        context.close()


def lesson_heading_top(page: Page, demo: Demo) -> float:
    page.goto(_first_lesson(demo.server))
    box = page.get_by_role("heading", level=1).bounding_box()
    assert box is not None
    return box["y"]


def test_a_lessons_heading_is_on_a_phones_first_screen(phone: Page, demo: Demo) -> None:
    top = lesson_heading_top(phone, demo)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=f"{SHOTS}/reflow-lesson.png")
        phone.screenshot(path=f"{SHOTS}/reflow-lesson-full.png", full_page=True)
    assert top < 400, f"the lesson's heading starts {top} px down on a 320 x 640 screen"


def test_the_navigation_works_without_javascript_on_a_phone(browser: Browser, demo: Demo) -> None:
    context = signed_in(browser, demo, "learner", java_script_enabled=False, **PHONE)
    page = context.new_page()
    try:
        top = lesson_heading_top(page, demo)
        assert top < 640, f"without JavaScript the lesson's heading starts {top} px down"
        nav = page.get_by_role("navigation", name="Menu")
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        box = nav.locator("ul").bounding_box()
        assert box is not None and box["height"] < 160, f"the links take {box} on a phone"
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/reflow-lesson-no-js.png")
        nav.get_by_role("link", name="My certificates").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("My certificates")
        nav.get_by_role("button", name="Sign out").click()
        expect(
            page.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign in")
        ).to_be_visible()
    finally:
        context.close()


def item_tops(page: Page, selector: str) -> list[float]:
    tops: list[float] = page.locator(selector).evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
    )
    return tops


@pytest.mark.parametrize("path", ["/learning", "/manage", "/admin/api-tokens"])
def test_an_admins_navigation_fits_one_line_at_1280(
    browser: Browser, demo: Demo, path: str
) -> None:
    context = signed_in(browser, demo, "admin", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(path)
        main_items = item_tops(page, ".app-header .govuk-service-navigation__item")
        staff = page.get_by_role("navigation", name="Management")
        for name in ("Team training", "Find a certificate", "API tokens"):
            expect(staff.get_by_role("link", name=name)).to_be_visible()
        staff_items = item_tops(page, ".app-staff-nav__item")
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/reflow-admin-1280{path.replace('/', '-')}.png")
        assert len(main_items) == 6 and len(set(main_items)) == 1, main_items
        assert len(staff_items) == 6 and len(set(staff_items)) == 1, staff_items
    finally:
        context.close()


def test_the_current_page_is_marked_in_the_navigation(browser: Browser, demo: Demo) -> None:
    context = signed_in(browser, demo, "admin", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto("/admin/api-tokens")
        current = page.locator("header, nav").locator("[aria-current=page]")
        expect(current).to_have_count(1)
        expect(current).to_have_text("API tokens")
        page.goto("/certificates")
        expect(page.locator("[aria-current=page]")).to_have_text("My certificates")
    finally:
        context.close()


def test_manager_pages_use_the_whole_width_of_a_wide_screen(browser: Browser, demo: Demo) -> None:
    context = signed_in(browser, demo, "manager", viewport={"width": 1600, "height": 900})
    page = context.new_page()
    try:
        page.goto("/manage")
        wide = page.locator("main").bounding_box()
        page.goto("/learning")
        usual = page.locator("main").bounding_box()
    finally:
        context.close()
    assert wide is not None and usual is not None
    assert wide["width"] >= 1500, f"the team view is {wide['width']} px wide on a 1600 px screen"
    assert usual["width"] <= 960, f"a learning page is {usual['width']} px wide"


def test_a_manager_sees_the_team_links_on_a_phone(browser: Browser, demo: Demo) -> None:
    context = signed_in(browser, demo, "manager", **PHONE)
    page = context.new_page()
    try:
        page.goto("/learning")
        page.get_by_role("navigation", name="Management").get_by_role(
            "link", name="Invitations"
        ).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Invite people")
    finally:
        context.close()


NARROW_AXE = {
    "learner": [f"{MODULE}", "/certificates", "/account"],
    "admin": ["/manage", "/admin/api-tokens", "/admin/certificates?q=Demo", "/manage/invitations"],
}


@pytest.mark.parametrize("role", list(NARROW_AXE))
def test_narrow_pages_pass_axe(browser: Browser, demo: Demo, role: str) -> None:
    context = signed_in(browser, demo, role, **PHONE)
    page = context.new_page()
    try:
        for path in NARROW_AXE[role]:
            page.goto(path)
            if role == "learner":
                page.get_by_role("button", name="Menu").click()
            violations = run_axe(page)
            assert not violations, f"axe at 320 px on {path}:\n" + describe_violations(violations)
            if SHOTS and path == "/manage":
                page.screenshot(path=f"{SHOTS}/reflow-manage-admin.png")
                region = page.get_by_role("region", name="people")
                region.focus()
                region.screenshot(path=f"{SHOTS}/reflow-manage-admin-matrix.png")
    finally:
        context.close()


def test_a_checked_spreadsheet_of_invitations_fits_a_phone(browser: Browser, demo: Demo) -> None:
    """The page listing a file's rows to correct and rows ready, reached by uploading a file."""
    context = signed_in(browser, demo, "manager", **PHONE)
    page = context.new_page()
    rows = f"name,email\nRowan Ready,{LONG_EMAIL.replace('a.very', 'b.very')}\nNo Address,\n"
    try:
        page.goto("/manage/invitations")
        page.get_by_label("CSV file").set_input_files(
            files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
        )
        page.get_by_role("button", name="Upload and check").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Nobody was invited")
        for name in ("Rows to correct", "Rows that are ready"):
            expect(page.get_by_role("region", name=name).locator("table")).to_have_count(1)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 320, f"the checked file's page is {width} px wide on a 320 px screen"
    finally:
        context.close()
