"""Browser tests: a real server in a thread, Debian's Chromium driven by Playwright, axe-core.

Each server is shared by the whole session: one on the small sample course (for the
journeys) and one on the real course (for accessibility checks on real content). Every
test gets its own browser context and, where it needs one, its own new learner.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
import uvicorn
from sqlmodel import Session, select

from elearn.app import create_app
from elearn.config import Settings, load_settings
from elearn.content.catalog import Catalog, load_catalog
from elearn.content.schema import Question
from elearn.models import Organisation
from elearn.services.demo import seed_demo
from elearn.services.partnerships import load_partnerships
from tests.conftest import GOOD_COURSES, PASSWORD, REAL_COURSES, confirmation_token_in

if TYPE_CHECKING:
    from playwright.sync_api import APIResponse, Browser, BrowserContext, Locator, Page

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TIMEOUT_MS = 10_000
ORGANISATION = "Riverside Academy"  # a demo organisation (Nottinghamshire, education sector)


def missing(what: str) -> None:
    """Skip when something the browser tests need is absent; under CI that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}, and CI=true needs the browser tests to run")
    pytest.skip(what)


# The servers ------------------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running app: its address, the exit URL it was given, and the catalogue it serves."""

    url: str
    exit_url: str
    catalog: Catalog
    organisation_id: int  # the demo organisation learners join
    engine: Any  # the app's database, for setting up people the tests need
    settings: Settings

    def confirm_link(self, email: str) -> str:
        """The path of the newest address-confirmation link emailed to `email`."""
        return f"/account/confirm/{confirmation_token_in(self.settings, email)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(data_dir: Path, courses_dir: Path) -> Iterator[LiveServer]:
    """Run the app with uvicorn in a background thread until the generator is closed."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(
        environment="test",
        data_dir=data_dir,
        courses_dir=courses_dir,
        reload_courses=False,
        exit_url=f"{base}/support",  # a local page: the tests use no outside network
    )
    app = create_app(settings, configure_logging=False)
    with Session(app.state.engine) as db:
        load_partnerships(db)
        seed_demo(db)
        organisation = db.exec(select(Organisation).where(Organisation.name == ORGANISATION)).one()
        assert organisation.id is not None
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(
            base,
            settings.exit_url,
            load_catalog(courses_dir),
            organisation.id,
            app.state.engine,
            settings,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def sample_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a copy of the small sample course."""
    root = tmp_path_factory.mktemp("sample-server")
    courses = root / "courses"
    shutil.copytree(GOOD_COURSES, courses)
    yield from _serve(root / "data", courses)


@pytest.fixture(scope="session")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on the real course in courses/ (read only: content is never reloaded)."""
    root = tmp_path_factory.mktemp("real-server")
    yield from _serve(root / "data", REAL_COURSES)


# The browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; skipped (or failed under CI) when it or axe-core is absent."""
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if not AXE.exists():
        missing(f"{AXE} is missing (cd tests/browser && npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_context(browser: Browser, server: LiveServer, **options: Any) -> BrowserContext:
    """A fresh browser context (own cookies and history) with short timeouts."""
    context = browser.new_context(base_url=server.url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def page(browser: Browser, sample_server: LiveServer) -> Iterator[Page]:
    """A page in its own context on the sample-course server, JavaScript on."""
    context = new_context(browser, sample_server)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def no_js_page(browser: Browser, sample_server: LiveServer) -> Iterator[Page]:
    """A page in its own context on the sample-course server, with JavaScript disabled."""
    context = new_context(browser, sample_server, java_script_enabled=False)
    try:
        yield context.new_page()
    finally:
        context.close()


# Learners ---------------------------------------------------------------------------------

_numbers = itertools.count(1)


def new_email() -> str:
    """An address no other test uses."""
    return f"learner{next(_numbers)}-{uuid.uuid4().hex[:6]}@example.org"


def csrf_of(context: BrowserContext) -> str:
    """The CSRF token in the context's cookie (a page must have been fetched first)."""
    for cookie in context.cookies():
        if cookie["name"] == "elearn_csrf":
            return str(cookie["value"])
    raise AssertionError("the browser has no CSRF cookie yet")


def form_post(
    context: BrowserContext, path: str, data: dict[str, str | list[str]] | None = None
) -> APIResponse:
    """POST a form with the context's cookies, as the page would; redirects not followed.

    A list value sends the field once per item, as ticked checkboxes do.
    """
    fields = [("csrf_token", csrf_of(context))]
    for name, value in (data or {}).items():
        fields += [(name, v) for v in ([value] if isinstance(value, str) else value)]
    response = context.request.post(
        path,
        data=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
        max_redirects=0,
    )
    assert response.status in (200, 303), f"POST {path}: {response.status} {response.text()}"
    return response


def sign_up_quickly(context: BrowserContext, server: LiveServer, name: str = "Sam Learner") -> str:
    """Create a learner and sign this context in, without driving the form (for setup)."""
    assert context.request.get("/account/sign-up").ok  # sets the CSRF cookie
    email = new_email()
    form = {"name": name, "email": email, "password": PASSWORD}
    response = form_post(
        context, "/account/sign-up", {**form, "organisation": str(server.organisation_id)}
    )
    assert response.status == 200 and "Check your email" in response.text()
    response = form_post(context, server.confirm_link(email))
    assert response.status == 303 and response.headers["location"] == "/learning"
    return email


# Quizzes ----------------------------------------------------------------------------------


def quiz_questions(server: LiveServer, course_id: str, module_id: str) -> dict[str, Question]:
    """A module's quiz questions by id, read from the course YAML."""
    course = server.catalog.course(course_id)
    assert course is not None
    quiz = course.modules[module_id].model.quiz
    assert quiz is not None
    return {q.id: q for q in quiz.questions}


def right_values(question: Question) -> list[str]:
    """The form values that answer a question correctly."""
    if question.kind == "true_false":
        return ["true" if question.answer else "false"]
    assert question.options is not None
    return [str(i) for i, option in enumerate(question.options) if option.correct]


def wrong_values(question: Question) -> list[str]:
    """Form values that answer a question wrongly: one wrong option, or the wrong truth value."""
    if question.kind == "true_false":
        return ["false" if question.answer else "true"]
    assert question.options is not None
    return [str(next(i for i, option in enumerate(question.options) if not option.correct))]


def option_text(question: Question, key: str) -> str:
    """The label a learner reads for an option named as the YAML names it."""
    if question.kind == "true_false":
        return key.capitalize()
    assert question.options is not None
    return question.options[int(key)].text


def choice(page: Page, question: Question, key: str) -> Locator:
    """The radio or checkbox for an option, found by its label within its question."""
    group = page.locator("fieldset").filter(has=page.locator(f"input[name='q-{question.id}']"))
    return group.get_by_label(option_text(question, key), exact=True)


def feedback_for(question: Question, values: list[str]) -> list[str]:
    """The feedback the YAML gives for each chosen value."""
    if question.kind == "true_false":
        chosen = {"true": question.feedback_true, "false": question.feedback_false}
        return [str(chosen[v]) for v in values]
    assert question.options is not None
    return [question.options[int(v)].feedback for v in values]


def asked_question_ids(page: Page) -> list[str]:
    """The ids of the questions on a quiz page, in the order shown (from name="q-<id>")."""
    names = page.locator("input[name^='q-']").evaluate_all("els => els.map(e => e.name)")
    return list(dict.fromkeys(name.removeprefix("q-") for name in names))


def heading(page: Page) -> Locator:
    """The page's main heading."""
    return page.get_by_role("heading", level=1)


# Keyboard, focus and accessibility --------------------------------------------------------


def tab_to(page: Page, target: Locator, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until `target` has focus; fail if it is never reached."""
    key = "Shift+Tab" if backwards else "Tab"
    element = target.element_handle()
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("el => el === document.activeElement", element):
            return
    raise AssertionError(f"{target} was not reached by pressing {key} {limit} times")


def focused(page: Page) -> str:
    """A short description of the element with focus, for assertion messages."""
    description: str = page.evaluate(
        "() => { const e = document.activeElement;"
        " return e ? e.outerHTML.slice(0, 120) : 'nothing'; }"
    )
    return description


FOCUS_INDICATOR_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  // GOV.UK radios and checkboxes draw their focus ring on the label's ::before box.
  const box = el.matches("input[type=radio], input[type=checkbox]") && el.labels.length
    ? [el.labels[0], "::before"] : [el, null];
  const look = () => {
    const s = getComputedStyle(box[0], box[1]);
    return {outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
            boxShadow: s.boxShadow, background: s.backgroundColor, border: s.borderColor,
            ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0
                   && !/^(transparent|rgba\\(.*, 0\\))$/.test(s.outlineColor))
                  || (s.boxShadow !== "none" && s.boxShadow !== "")};
  };
  const focusedLook = look();
  el.blur();
  const restingLook = look();
  el.focus();
  const changed = ["outline", "boxShadow", "background", "border"]
    .filter((k) => focusedLook[k] !== restingLook[k]);
  return {element: el.outerHTML.slice(0, 100), focused: focusedLook, resting: restingLook,
          visible: focusedLook.ring && changed.length > 0};
}
"""


def assert_focus_visible(page: Page) -> None:
    """The focused element has a focus indicator: an outline or box shadow that focus adds."""
    found = page.evaluate(FOCUS_INDICATOR_JS)
    assert found is not None, "nothing has keyboard focus"
    assert found["visible"], f"no visible focus indicator on the focused element: {found}"


def run_axe(page: Page) -> list[dict[str, Any]]:
    """Inject axe-core and return its WCAG 2.x A and AA violations for the page."""
    page.add_script_tag(path=str(AXE))
    results: dict[str, Any] = page.evaluate(
        """async (tags) => await axe.run(document, {runOnly: {type: "tag", values: tags}})""",
        WCAG_TAGS,
    )
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One line per failing element: rule id, impact, target and help."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(
                f"{violation['id']} ({violation['impact']}) at {node['target']}: "
                f"{violation['help']}"
            )
    return "\n".join(lines)
