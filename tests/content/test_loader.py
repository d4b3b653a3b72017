"""The validator reports every problem at its file and line, and never half-loads a course."""

from __future__ import annotations

from pathlib import Path

import pytest

from elearn.content.catalog import load_catalog
from elearn.content.loader import load
from elearn.content.problems import ContentError

DATA = Path(__file__).parent / "testdata"
MANY = DATA / "broken" / "many"


def _messages() -> list[str]:
    return [str(p) for p in load([MANY]).problems]


@pytest.mark.parametrize(
    ("file", "line", "fragment"),
    [
        ("course.yaml", 4, "practice_level: Input should be 'informed'"),
        (
            "course.yaml",
            9,
            "names module 'basic-skills', which does not exist; did you mean 'basics'?",
        ),
        ("course.yaml", 10, "duplicate track id 'police'"),
        ("course.yaml", 12, "lists module 'basics' twice"),
        ("modules/basics.yaml", 2, "unknown key 'titel' in the top level; did you mean 'title'?"),
        ("modules/basics.yaml", 3, "version: Input should be greater than or equal to 1"),
        ("modules/basics.yaml", 12, "variant for unknown track 'polise'; did you mean 'police'?"),
        ("modules/basics.yaml", 13, "duplicate lesson id 'one'"),
        ("modules/basics.yaml", 16, "reflection 'think' needs a 'prompt'"),
        ("modules/basics.yaml", 20, "quiz.pass_mark: Input should be less than or equal to 100"),
        ("modules/basics.yaml", 21, "draw is 4 but the quiz has only 3 questions"),
        ("modules/basics.yaml", 27, "question 'q1' has no correct option"),
        ("modules/basics.yaml", 29, "duplicate question id 'q1'"),
        ("modules/basics.yaml", 33, "single-choice question 'q1' has 2 correct options"),
        ("modules/basics.yaml", 35, "true_false question 'q3' needs 'feedback_false'"),
        ("modules/unused.yaml", 1, "warning: module 'unused' is not used by any track"),
    ],
)
def test_each_problem_is_reported_at_its_file_and_line(file: str, line: int, fragment: str) -> None:
    prefix = f"{MANY / file}:{line}:"
    assert any(m.startswith(prefix) and fragment in m for m in _messages()), _messages()


def test_a_typo_is_not_also_reported_as_a_missing_key() -> None:
    assert not any("missing required key 'title'" in m for m in _messages())


def test_every_problem_is_reported_in_one_run() -> None:
    result = load([MANY])
    assert len(result.errors) == 15
    assert result.courses == []  # nothing of a broken course is loaded


def test_yaml_syntax_error_names_file_line_and_column() -> None:
    result = load([DATA / "broken" / "syntax"])
    broken = DATA / "broken" / "syntax" / "modules" / "broken.yaml"
    assert [str(p) for p in result.errors] == [
        f"{broken}:7:1: YAML syntax error: while parsing a flow sequence, "
        "did not find expected ',' or ']'"
    ]


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("id: dup\ntitle: One\ntitle: Two\n")
    messages = [str(p) for p in load([path]).problems]
    assert f"{path}:3:1: duplicate key 'title'" in messages


def test_a_loose_module_file_is_checked_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "lonely.yaml"
    path.write_text(
        "id: other\ntitle: T\nversion: 1\nminutes: 1\nsummary: S\n"
        "sources: [{title: S}]\nlessons: [{id: a, title: A, body: B}]\n"
    )
    messages = [str(p) for p in load([path]).problems]
    assert messages == [f"{path}:1:5: module id 'other' must match the file name 'lonely'"]


def test_missing_path_is_reported() -> None:
    result = load([Path("/no/such/folder")])
    assert not result.ok and "no such file or folder" in str(result.errors[0])


def test_catalogue_refuses_invalid_content_with_every_problem() -> None:
    with pytest.raises(ContentError) as caught:
        load_catalog(DATA / "broken")
    assert len([p for p in caught.value.problems if p.severity == "error"]) == 16


def test_good_content_loads_with_variants_per_track() -> None:
    catalog = load_catalog(DATA / "good")
    course = catalog.course("sample")
    assert course is not None
    module = course.modules["shared-basics"]
    alpha, beta = module.lessons("alpha")[0].html, module.lessons("beta")[0].html
    assert alpha is not None and "Alpha replaces the text." in alpha and "shared text" not in alpha
    assert beta is not None and "The shared text" in beta and "Beta adds a paragraph." in beta
    assert [t.id for t in course.tracks] == ["alpha", "beta"]
    assert len(catalog.version) == 12


def test_parallel_check_finds_the_same_problems_as_one_process(tmp_path: Path) -> None:
    course = tmp_path / "big"
    (course / "modules").mkdir(parents=True)
    template = (DATA / "good" / "sample" / "modules" / "alpha-only.yaml").read_text()
    ids = [f"m-{i:03d}" for i in range(80)]
    for module_id in ids:
        text = template.replace("id: alpha-only", f"id: {module_id}")
        if module_id == "m-042":
            text = text.replace("minutes: 5", "minutes: -5")
        (course / "modules" / f"{module_id}.yaml").write_text(text)
    (course / "course.yaml").write_text(
        "id: big\ntitle: Big\nsummary: S\npractice_level: skilled\npartnerships: [x]\n"
        f"tracks: [{{id: t, title: T, modules: [{', '.join(ids[:-1])}]}}]\n"
    )
    single, parallel = load([course]), load([course], workers=2)
    assert [str(p) for p in parallel.problems] == [str(p) for p in single.problems]
    assert len(single.problems) == 2  # the bad minutes, and the unused last module
    assert parallel.module_count == single.module_count == 79


def test_a_misplaced_key_gets_a_suggestion_from_the_keys_allowed_there(tmp_path: Path) -> None:
    path = tmp_path / "misplaced.yaml"
    path.write_text(
        "id: misplaced\ntitle: T\nversion: 1\nminutes: 1\nsummary: S\nsources: [{title: S}]\n"
        "lessons: [{id: a, title: A, body: B}]\nquiz:\n  questions:\n    - id: q\n"
        "      kind: true_false\n      prompt: P\n      answer: true\n      feedback: F\n"
        "      feedback_true: T\n      feedback_false: F\n"
    )
    messages = [str(p) for p in load([path]).problems]
    assert messages == [
        f"{path}:14:7: unknown key 'feedback' in quiz.questions[0]; did you mean 'feedback_true'?"
    ]


def test_yml_files_are_pointed_out_not_silently_ignored(courses_dir: Path) -> None:
    stray = courses_dir / "sample" / "modules" / "stray.yml"
    stray.write_text("id: stray\n")
    messages = [str(p) for p in load([courses_dir]).problems]
    assert messages == [
        f"{stray}:1: warning: this file is not read: module files must end in .yaml"
    ]


def test_duplicate_course_ids_are_errors_however_many_workers_check(tmp_path: Path) -> None:
    import shutil

    for name in ("first", "second"):
        shutil.copytree(DATA / "good" / "sample", tmp_path / name)
    for workers in (1, 2):
        errors = [str(p) for p in load([tmp_path], workers=workers).errors]
        assert errors == [
            f"{tmp_path / 'second' / 'course.yaml'}:1:5: duplicate course id 'sample' "
            f"(also in {tmp_path / 'first' / 'course.yaml'})"
        ]
