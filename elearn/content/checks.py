"""Rules about course content that a schema alone cannot express.

They read the raw YAML data defensively, so they run even where the schema found
errors: an author sees every problem in one run.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elearn.content.problems import Problem

if TYPE_CHECKING:
    from elearn.content.loader import LoadedFile

Loc = tuple[str | int, ...]


def _at(
    source: LoadedFile, loc: Loc, message: str, *, key: bool = False, warning: bool = False
) -> Problem:
    line, col = source.where(loc, key=key)
    return Problem(source.path, line, col, message, "warning" if warning else "error")


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mapping items of a list under `key`, with their indexes; [] when malformed."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _duplicates(
    items: list[tuple[int, dict[str, Any]]], base: Loc, what: str, source: LoadedFile
) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for i, item in items:
        ident = item.get("id")
        if not isinstance(ident, str):
            continue
        if ident in seen:
            out.append(_at(source, (*base, i, "id"), f"duplicate {what} id '{ident}'"))
        seen.add(ident)
    return out


def check_module(source: LoadedFile, stem: str) -> list[Problem]:
    """Checks within one module file."""
    data = source.located.data
    if not isinstance(data, dict):
        return []
    out: list[Problem] = []
    module_id = data.get("id")
    if isinstance(module_id, str) and module_id != stem:
        out.append(
            _at(source, ("id",), f"module id '{module_id}' must match the file name '{stem}'")
        )
    lessons = _items(data, "lessons")
    out += _duplicates(lessons, ("lessons",), "lesson", source)
    for i, lesson in lessons:
        out += _check_lesson(lesson, ("lessons", i), source)
    quiz = data.get("quiz")
    if isinstance(quiz, dict):
        questions = _items(quiz, "questions")
        out += _duplicates(questions, ("quiz", "questions"), "question", source)
        for i, question in questions:
            out += _check_question(question, ("quiz", "questions", i), source)
        draw, count = quiz.get("draw"), len(quiz.get("questions") or [])
        if isinstance(draw, int) and draw > count:
            out.append(
                _at(
                    source,
                    ("quiz", "draw"),
                    f"draw is {draw} but the quiz has only {count} questions",
                )
            )
    return out


def _check_lesson(lesson: dict[str, Any], loc: Loc, source: LoadedFile) -> list[Problem]:
    out = []
    name = lesson.get("id", loc[-1])
    if lesson.get("kind", "text") == "reflection":
        if "prompt" not in lesson:
            out.append(_at(source, loc, f"reflection '{name}' needs a 'prompt'"))
        for key in ("body", "variants"):
            if key in lesson:
                out.append(
                    _at(source, (*loc, key), f"a reflection has a 'prompt', not '{key}'", key=True)
                )
    elif lesson.get("kind", "text") == "text":
        if "body" not in lesson:
            out.append(_at(source, loc, f"lesson '{name}' needs a 'body'"))
        if "prompt" in lesson:
            out.append(
                _at(source, (*loc, "prompt"), "'prompt' is for reflection lessons only", key=True)
            )
    return out


def _check_question(q: dict[str, Any], loc: Loc, source: LoadedFile) -> list[Problem]:
    out: list[Problem] = []
    name, kind = q.get("id", loc[-1]), q.get("kind")
    if kind == "true_false":
        if "options" in q:
            out.append(
                _at(
                    source,
                    (*loc, "options"),
                    "a true_false question uses 'answer', not 'options'",
                    key=True,
                )
            )
        for key in ("answer", "feedback_true", "feedback_false"):
            if key not in q:
                out.append(_at(source, loc, f"true_false question '{name}' needs '{key}'"))
        return out
    if kind not in ("single", "multiple"):
        return out
    for key in ("answer", "feedback_true", "feedback_false"):
        if key in q:
            out.append(
                _at(source, (*loc, key), f"'{key}' is for true_false questions only", key=True)
            )
    if "options" not in q:
        out.append(_at(source, loc, f"{kind} question '{name}' needs 'options'"))
        return out
    options = _items(q, "options")
    correct = sum(1 for _, option in options if option.get("correct") is True)
    if correct == 0:
        out.append(_at(source, (*loc, "options"), f"question '{name}' has no correct option"))
    elif kind == "single" and correct > 1:
        out.append(
            _at(
                source,
                (*loc, "options"),
                f"single-choice question '{name}' has {correct} correct options; "
                "use kind: multiple or mark only one",
            )
        )
    texts = Counter(str(o.get("text", "")).casefold() for _, o in options)
    for i, option in options:
        text = str(option.get("text", "")).casefold()
        if text and texts[text] > 1:
            out.append(
                _at(
                    source,
                    (*loc, "options", i, "text"),
                    f"question '{name}' repeats the option '{option.get('text')}'",
                )
            )
            texts[text] = 0
    return out


@dataclass(frozen=True)
class TrackUse:
    """Which tracks a course has, and which tracks use each module id."""

    track_ids: tuple[str, ...] = ()
    users: dict[str, frozenset[str]] = field(default_factory=dict)


def check_tracks(source: LoadedFile, existing: set[str]) -> tuple[list[Problem], TrackUse]:
    """Checks of a course file's tracks against the module files that exist."""
    tracks = _items(source.located.data, "tracks")
    out = _duplicates(tracks, ("tracks",), "track", source)
    known = sorted(existing)
    users: dict[str, set[str]] = {}
    for t, track in tracks:
        track_id = str(track.get("id", t))
        listed = track.get("modules")
        seen: set[str] = set()
        for m, module_id in enumerate(listed if isinstance(listed, list) else []):
            if not isinstance(module_id, str):
                continue
            loc: Loc = ("tracks", t, "modules", m)
            if module_id in seen:
                out.append(_at(source, loc, f"track '{track_id}' lists module '{module_id}' twice"))
            seen.add(module_id)
            users.setdefault(module_id, set()).add(track_id)
            if module_id not in existing:
                msg = f"track '{track_id}' names module '{module_id}', which does not exist"
                close = difflib.get_close_matches(module_id, known, n=1)
                out.append(
                    _at(source, loc, msg + (f"; did you mean '{close[0]}'?" if close else ""))
                )
    track_ids = tuple(str(track.get("id")) for _, track in tracks)
    return out, TrackUse(track_ids, {k: frozenset(v) for k, v in users.items()})


def check_module_use(source: LoadedFile, stem: str, use: TrackUse) -> list[Problem]:
    """Checks of one module against its course's tracks: unused modules, variant keys."""
    out = []
    if stem not in use.users:
        out.append(_at(source, (), f"module '{stem}' is not used by any track", warning=True))
    return out + _check_variants(source, set(use.users.get(stem, ())), list(use.track_ids))


def _check_variants(source: LoadedFile, users: set[str], track_ids: list[str]) -> list[Problem]:
    out = []
    for i, lesson in _items(source.located.data, "lessons"):
        variants = lesson.get("variants")
        for track_id in variants if isinstance(variants, dict) else {}:
            loc: Loc = ("lessons", i, "variants", str(track_id))
            if track_id not in track_ids:
                close = difflib.get_close_matches(str(track_id), track_ids, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                out.append(
                    _at(source, loc, f"variant for unknown track '{track_id}'{hint}", key=True)
                )
            elif track_id not in users:
                out.append(
                    _at(
                        source,
                        loc,
                        f"variant for track '{track_id}', which does not use this module",
                        key=True,
                        warning=True,
                    )
                )
    return out


def check_course_ids(courses: list[tuple[str, LoadedFile]]) -> list[Problem]:
    """Checks across courses: course ids are unique."""
    out = []
    seen: dict[str, Path] = {}
    for course_id, source in courses:
        if course_id in seen:
            out.append(
                _at(
                    source,
                    ("id",),
                    f"duplicate course id '{course_id}' (also in {seen[course_id]})",
                )
            )
        seen.setdefault(course_id, source.path)
    return out
