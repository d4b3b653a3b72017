"""Script payloads in any text field never reach a page as markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from elearn.app import create_app
from elearn.config import load_settings
from elearn.content.markdown import render_block, render_inline
from elearn.models import Organisation
from elearn.services.demo import seed_demo
from elearn.services.partnerships import load_partnerships
from tests.conftest import post, sign_up

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "<a href='javascript:alert(1)'>x</a>",
    '<svg onload="alert(1)"></svg>',
    "[x](JaVaScRiPt:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    "![x](javascript:alert(1))",
    "<style>body{display:none}</style>",
]


class _Markup(HTMLParser):
    """Collects real tags and attributes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "iframe", "svg", "img", "style", "object", "embed"}:
            src = dict(attrs).get("src") or ""
            if not (tag == "script" and src.startswith("/static/")):
                self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}=")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                self.found.append(f"{name}={value}")


def _dangerous(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_renderers_neutralise_payloads(payload: str) -> None:
    assert _dangerous(render_block(f"Text {payload} more")) == []
    assert _dangerous(render_inline(f"Text {payload} more")) == []


def test_ordinary_markdown_still_renders() -> None:
    html = render_block("### Heading\n\n**bold** and [a link](https://example.org)\n\n- one\n- two")
    assert "<h2>Heading</h2>" in html and "<strong>bold</strong>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer">a link</a>' in html
    assert "<li>one</li>" in html


def _hostile_course(root: Path) -> Path:
    p = " ".join(PAYLOADS)
    folder = root / "hostile"
    (folder / "modules").mkdir(parents=True)
    course = {
        "id": "hostile",
        "title": f"Course {p}",
        "summary": f"Summary {p}",
        "practice_level": "informed",
        "partnerships": ["nottinghamshire"],
        "tracks": [
            {"id": "t", "title": f"Track {p}", "summary": f"Track summary {p}", "modules": ["m"]}
        ],
    }
    module = {
        "id": "m",
        "title": f"Module {p}",
        "version": 1,
        "minutes": 5,
        "summary": f"Summary {p}",
        "content_note": f"Note {p}",
        "sources": [{"title": f"Source {p}", "publisher": f"Publisher {p}"}],
        "lessons": [
            {
                "id": "a",
                "title": f"Lesson {p}",
                "body": f"Body {p}",
                "variants": {"t": {"add": f"Added {p}"}},
            },
            {"id": "r", "kind": "reflection", "title": f"Reflect {p}", "prompt": f"Prompt {p}"},
        ],
        "quiz": {
            "questions": [
                {
                    "id": "q",
                    "kind": "single",
                    "prompt": f"Prompt {p}",
                    "options": [
                        {"text": f"A {p}", "correct": True, "feedback": p},
                        {"text": f"B {p}", "feedback": p},
                    ],
                }
            ]
        },
    }
    (folder / "course.yaml").write_text(yaml.safe_dump(course))
    (folder / "modules" / "m.yaml").write_text(yaml.safe_dump(module))
    return root


def test_no_payload_reaches_any_page(tmp_path: Path) -> None:
    settings = load_settings(
        environment="test",
        data_dir=tmp_path / "data",
        courses_dir=_hostile_course(tmp_path / "courses"),
        reload_courses=False,
    )
    with TestClient(create_app(settings, configure_logging=False)) as client:
        with Session(client.app.state.engine) as db:  # type: ignore[attr-defined]
            load_partnerships(db)
            seed_demo(db)
            organisation = db.exec(select(Organisation)).first()
        assert organisation is not None
        sign_up(client, organisation)
        post(client, "/courses/hostile/t/enrol")
        start = post(client, "/courses/hostile/t/m/quiz")
        attempt = start.headers["location"]
        pages = [
            "/",
            "/courses/hostile/t",
            "/courses/hostile/t/m",
            "/courses/hostile/t/m/start",
            "/courses/hostile/t/m/lessons/a?note=seen",
            "/courses/hostile/t/m/lessons/r",
            "/courses/hostile/t/m/quiz",
            attempt,
        ]
        post(client, attempt, {"q-q": "0"})
        for url in [*pages, attempt, "/learning"]:
            response = client.get(url)
            assert response.status_code == 200, url
            body = response.text
            assert _dangerous(body) == [], url
            scripts = re.findall(r"<script[^>]*>", body)
            assert scripts and all('src="/static/' in s for s in scripts), scripts
            if url != "/learning":
                assert "&lt;script&gt;" in body, url  # shown as text, harmlessly


def test_lesson_headings_start_just_below_the_page_title_whatever_level_was_written() -> None:
    html = render_block("# One\n\n## Two\n\n#### Four")
    assert "<h2>One</h2>" in html and "<h3>Two</h3>" in html and "<h5>Four</h5>" in html
    assert "<h1>" not in html
    html = render_block("### Three\n\ntext\n\n#### Four\n\n### Three again")
    assert html.count("<h2>") == 2 and "<h3>Four</h3>" in html and "<h4>" not in html
    assert "<h6>" in render_block("# a\n\n###### six")  # nothing below h6


def test_no_shipped_lesson_skips_a_heading_level() -> None:
    from elearn.content.catalog import load_catalog
    from tests.conftest import REAL_COURSES

    for course in load_catalog(REAL_COURSES).courses:
        for track in course.tracks:
            for module in track.modules:
                for lesson in module.lessons(track.id):
                    levels = [int(n) for n in re.findall(r"<h([1-6])", str(lesson.html or ""))]
                    previous = 1
                    for level in levels:
                        assert level <= previous + 1, (module.id, lesson.id, levels)
                        previous = level
