"""The command line: validate, schema, demo, and a server that refuses bad content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from elearn.cli import app
from elearn.content.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "content" / "testdata"
runner = CliRunner()


def test_validate_clean_content_exits_0_with_a_summary() -> None:
    result = runner.invoke(app, ["courses", "validate", str(DATA / "good")])
    assert result.exit_code == 0
    assert result.output.strip() == ("ok: 1 course(s), 2 module(s) in 3 file(s), 0 warning(s)")


def test_validate_broken_content_exits_1_listing_every_problem() -> None:
    result = runner.invoke(app, ["courses", "validate", str(DATA / "broken")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1] == "16 error(s), 1 warning(s) in 5 file(s)"
    assert all(line.startswith(str(DATA / "broken")) for line in lines[:-1])


def test_the_shipped_course_is_valid() -> None:
    result = runner.invoke(app, ["courses", "validate", str(ROOT / "courses")])
    assert result.exit_code == 0, result.output


def test_schema_is_json_schema_for_both_kinds_of_file() -> None:
    result = runner.invoke(app, ["courses", "schema"])
    schema = json.loads(result.output)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"Course", "Module", "Question", "Lesson"} <= set(schema["$defs"])
    assert schema["$defs"]["Module"]["additionalProperties"] is False


@pytest.mark.parametrize("kind", ["course", "module"])
def test_published_schema_files_are_up_to_date(kind: str) -> None:
    published = json.loads((ROOT / "docs" / f"{kind}-schema.json").read_text())
    assert published == json_schema(kind)  # type: ignore[arg-type]


def _elearn(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process with extra ELEARN_ settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ELEARN_")}
    return subprocess.run(
        [sys.executable, "-m", "elearn", *args],
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serve_refuses_to_start_on_invalid_content(tmp_path: Path) -> None:
    done = _elearn(
        "serve",
        "--port",
        "1",
        ELEARN_COURSES_DIR=str(DATA / "broken"),
        ELEARN_DATA_DIR=str(tmp_path),
    )
    assert done.returncode == 1
    assert "the server did not start" in done.stderr
    assert (
        f"{DATA / 'broken' / 'many' / 'course.yaml'}:10:9: duplicate track id 'police'"
        in done.stderr
    )


def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    done = _elearn("db", "upgrade", ELEARN_PORT="not-a-port", ELEARN_DATA_DIR=str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: ELEARN_PORT:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    done = _elearn("db", "upgrade", ELEARN_ENVIRONMENT="production", ELEARN_DATA_DIR=str(tmp_path))
    assert done.returncode == 2
    assert "ELEARN_SECRET_KEY must be set in production" in done.stderr


def test_demo_creates_one_account_per_role_in_each_partnership(tmp_path: Path) -> None:
    done = _elearn("demo", ELEARN_DATA_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    for partnership in ("nottinghamshire", "leicestershire"):
        for role in ("learner", "manager", "author", "admin"):
            assert f"{role}@{partnership}.demo.example" in done.stdout
