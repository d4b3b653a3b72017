"""The shipped course meets the bar practitioners are promised."""

from __future__ import annotations

from pathlib import Path

import pytest

from elearn.content.catalog import CourseView, load_catalog

COURSES = Path(__file__).resolve().parents[2] / "courses"
FOUNDATION = {
    "understanding-trauma",
    "aces-and-resilience",
    "six-principles",
    "avoiding-retraumatisation",
}


@pytest.fixture(scope="module")
def course() -> CourseView:
    found = load_catalog(COURSES).course("trauma-informed-practice")
    assert found is not None
    return found


def test_every_track_shares_the_foundation_and_has_its_own_modules(course: CourseView) -> None:
    assert {t.id for t in course.tracks} == {"education", "police", "youth-justice"}
    for track in course.tracks:
        ids = [m.id for m in track.modules]
        assert set(ids) >= FOUNDATION
        assert len(set(ids) - FOUNDATION) >= 2, track.id


def test_every_module_is_substantive_with_a_full_quiz_and_sources(course: CourseView) -> None:
    for module in course.modules.values():
        text_lessons = [le for le in module.model.lessons if le.kind == "text"]
        assert len(text_lessons) >= 3, module.id
        assert all(len((le.body or "").split()) >= 250 for le in text_lessons), module.id
        assert module.model.quiz is not None and len(module.model.quiz.questions) >= 5
        assert module.model.sources and all(s.url for s in module.model.sources), module.id


def test_shared_modules_speak_to_each_sector(course: CourseView) -> None:
    variants = {
        track
        for module_id in FOUNDATION
        for lesson in course.modules[module_id].model.lessons
        for track in lesson.variants
    }
    assert variants == {"education", "police", "youth-justice"}


def test_distressing_modules_carry_a_content_note(course: CourseView) -> None:
    for module_id in ("understanding-trauma", "aces-and-resilience", "avoiding-retraumatisation"):
        assert course.modules[module_id].content_note is not None
