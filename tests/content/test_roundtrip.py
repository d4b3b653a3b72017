"""Any valid course survives load -> dump -> load unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elearn.content.loader import as_data, load

slugs = st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)
texts = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
bodies = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"),
    min_size=1,
    max_size=200,
).filter(str.strip)


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, item in enumerate(items):
        item["id"] = f"{item['id']}-{i}"
    return items


@st.composite
def options(draw: st.DrawFn, kind: str) -> list[dict[str, Any]]:
    count = draw(st.integers(2, 5))
    correct = {0} if kind == "single" else set(draw(st.sets(st.integers(0, count - 1), min_size=1)))
    return [
        {
            "text": f"{draw(texts)} {i}",
            "feedback": draw(texts),
            **({"correct": True} if i in correct else {}),
        }
        for i in range(count)
    ]


@st.composite
def questions(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["single", "multiple", "true_false"]))
    question: dict[str, Any] = {"id": draw(slugs), "kind": kind, "prompt": draw(texts)}
    if kind == "true_false":
        question |= {
            "answer": draw(st.booleans()),
            "feedback_true": draw(texts),
            "feedback_false": draw(texts),
        }
    else:
        question["options"] = draw(options(kind))
    return question


@st.composite
def modules(draw: st.DrawFn, name: str, track_ids: list[str]) -> dict[str, Any]:
    lessons = _unique(
        [
            {
                "id": draw(slugs),
                "title": draw(texts),
                "body": draw(bodies),
                "variants": {
                    t: draw(st.one_of(bodies, st.builds(lambda b: {"add": b}, bodies)))
                    for t in draw(st.sets(st.sampled_from(track_ids), max_size=2))
                },
            }
            for _ in range(draw(st.integers(1, 3)))
        ]
        + [{"id": "reflect", "kind": "reflection", "title": draw(texts), "prompt": draw(texts)}]
    )
    qs = _unique(draw(st.lists(questions(), min_size=1, max_size=4)))
    quiz = {
        "pass_mark": draw(st.integers(1, 100)),
        "shuffle": draw(st.booleans()),
        "draw": draw(st.integers(1, len(qs))),
        "questions": qs,
    }
    return {
        "id": name,
        "title": draw(texts),
        "version": draw(st.integers(1, 99)),
        "minutes": draw(st.integers(1, 600)),
        "summary": draw(texts),
        "content_note": draw(st.none() | texts),
        "sources": [
            {
                "title": draw(texts),
                "year": draw(st.integers(1900, 2100)),
                "url": "https://example.org/" + draw(slugs),
            }
        ],
        "lessons": lessons,
        "quiz": quiz,
    }


@st.composite
def courses(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    track_ids = [f"track-{i}" for i in range(draw(st.integers(1, 3)))]
    module_list = [draw(modules(f"module-{i}", track_ids)) for i in range(draw(st.integers(1, 3)))]
    ids = [m["id"] for m in module_list]
    course = {
        "id": draw(slugs),
        "title": draw(texts),
        "summary": draw(texts),
        "practice_level": draw(st.sampled_from(["informed", "skilled", "enhanced", "specialist"])),
        "partnerships": ["nottinghamshire", "leicestershire"],
        "tracks": [{"id": t, "title": draw(texts), "modules": ids} for t in track_ids],
    }
    return course, module_list


def _write(root: Path, course: Any, module_list: list[Any]) -> Path:
    folder = root / "course"
    (folder / "modules").mkdir(parents=True, exist_ok=True)
    (folder / "course.yaml").write_text(yaml.safe_dump(course, allow_unicode=True), "utf-8")
    for module in module_list:
        path = folder / "modules" / f"{module['id']}.yaml"
        path.write_text(yaml.safe_dump(module, allow_unicode=True), "utf-8")
    return folder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(courses())
def test_valid_course_survives_load_dump_load(data: tuple[dict[str, Any], list[Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first = load([_write(Path(tmp) / "a", *data)])
        assert first.ok, [str(p) for p in first.problems]
        loaded = first.courses[0]
        dumped_modules = [as_data(m.model) for m in loaded.modules.values()]
        second = load([_write(Path(tmp) / "b", as_data(loaded.model), dumped_modules)])
        assert second.ok, [str(p) for p in second.problems]
        again = second.courses[0]
        assert again.model == loaded.model
        assert {k: m.model for k, m in again.modules.items()} == {
            k: m.model for k, m in loaded.modules.items()
        }
