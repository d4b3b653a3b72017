"""The shipped course meets the bar practitioners are promised."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from elearn.content.catalog import CourseView, load_catalog

COURSES = Path(__file__).resolve().parents[2] / "courses"
FOUNDATION = {
    "understanding-trauma",
    "aces-and-resilience",
    "six-principles",
    "avoiding-retraumatisation",
}

SECTORS = {"education", "police", "youth-justice", "voluntary-sector"}
SEED = Path(__file__).resolve().parents[2] / "elearn" / "seed" / "partnerships.yaml"


@pytest.fixture(scope="module")
def course() -> CourseView:
    found = load_catalog(COURSES).course("trauma-informed-practice")
    assert found is not None
    return found


def test_every_track_shares_the_foundation_and_has_its_own_modules(course: CourseView) -> None:
    assert {t.id for t in course.tracks} == SECTORS
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
    assert variants == SECTORS


def test_distressing_modules_carry_a_content_note(course: CourseView) -> None:
    for module_id in ("understanding-trauma", "aces-and-resilience", "avoiding-retraumatisation"):
        assert course.modules[module_id].content_note is not None


def test_the_voluntary_sector_track_has_two_substantive_modules_of_its_own(
    course: CourseView,
) -> None:
    track = course.track("voluntary-sector")
    assert track is not None
    ids = [m.id for m in track.modules]
    assert ids[: len(FOUNDATION)] == [m for m in ids if m in FOUNDATION]
    own = [course.modules[i] for i in ids if i not in FOUNDATION]
    assert len(own) >= 2
    for module in own:
        assert module.content_note is not None, module.id
        assert any(le.kind == "reflection" for le in module.model.lessons), module.id
        quiz = module.model.quiz
        assert quiz is not None and len(quiz.questions) >= 6, module.id
        for question in quiz.questions:
            if question.kind == "true_false":
                assert question.feedback_true and question.feedback_false, question.id
            else:
                assert question.options and all(o.feedback for o in question.options), question.id
    text = " ".join(le.body or "" for m in own for le in m.model.lessons)
    for topic in (
        "disclosure",
        "MASH",
        "DBS",
        "supervision",
        "Serious Violence Duty",
        "Detached youth",
    ):
        assert topic in text, topic


def test_the_custody_module_states_the_strip_search_two_people_rule(course: CourseView) -> None:
    module = course.modules["first-contact-and-custody"]
    lesson = next(le for le in module.model.lessons if le.id == "restraint-and-strip-search")
    body = " ".join((lesson.body or "").split())
    assert "at least two people other than the detainee must be present" in body
    assert "Annex A" in body and "no more people than are needed" in body
    assert "of the same sex" in body and "appropriate adult" in body
    assert any("PACE Code C" in s.title for s in module.model.sources)


def test_support_data_includes_the_rape_crisis_line_and_education_support() -> None:
    data = yaml.safe_load(SEED.read_text("utf-8"))
    national = {c["name"]: c for c in data["national"]}
    assert national["Rape Crisis 24/7 Support Line"]["phone"] == "0808 500 2222"
    assert national["Education Support helpline"]["phone"] == "08000 562 561"
    assert "Police Care UK" in national and any("Oscar Kilo" in n for n in national)
    names = {p["id"]: p["name"] for p in data["partnerships"]}
    assert (
        names["nottinghamshire"] == "Nottingham and Nottinghamshire Violence Reduction Partnership"
    )
    assert names["leicestershire"] == "Leicestershire Violence Reduction Network"


def test_current_partnership_names_are_used_in_the_course(course: CourseView) -> None:
    for module in course.modules.values():
        texts = [le.body or "" for le in module.model.lessons]
        texts += [s.publisher or "" for s in module.model.sources]
        for text in texts:
            flat = " ".join(text.split())
            for match in re.finditer(r"Violence Reduction Unit\b(?!s)", flat):
                # Only historic references may keep the old name.
                assert re.search(
                    r"(until|was set up|formerly)",
                    flat[max(0, match.start() - 60) : match.end() + 20],
                ), module.id
