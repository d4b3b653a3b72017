"""The authors' guide's worked example is valid content, so the guide cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from elearn.content.loader import load

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "authoring.md"


def test_the_worked_example_in_the_guide_validates(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), flags=re.S)
    complete = [b for b in blocks if re.search(r"^id: ", b, flags=re.M) and "title:" in b]
    course_text, *module_texts = complete
    course = tmp_path / yaml.safe_load(course_text)["id"]
    (course / "modules").mkdir(parents=True)
    (course / "course.yaml").write_text(course_text)
    for text in module_texts:
        (course / "modules" / f"{yaml.safe_load(text)['id']}.yaml").write_text(text)
    result = load([course])
    assert result.ok and result.problems == [], [str(p) for p in result.problems]
    assert result.module_count == len(module_texts) == 2
