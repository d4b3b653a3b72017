"""Page queries do not grow with how much a learner has done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.conftest import post

TRACK = "/courses/sample/alpha"
MODULE = f"{TRACK}/shared-basics"


@contextmanager
def counted(client: TestClient) -> Iterator[list[str]]:
    """Every SQL statement the app runs inside the block."""
    statements: list[str] = []
    engine = client.app.state.engine  # type: ignore[attr-defined]

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _views(client: TestClient) -> tuple[int, int, int]:
    with counted(client) as lesson:
        assert client.get(f"{MODULE}/lessons/first?note=seen").status_code == 200
    with counted(client) as track:
        assert client.get(TRACK).status_code == 200
    with counted(client) as learning:
        assert client.get("/learning").status_code == 200
    return len(lesson), len(track), len(learning)


def test_query_counts_do_not_grow_with_progress(learner: TestClient) -> None:
    learner.get(f"{MODULE}/lessons/first?note=seen")  # first view writes; measure re-reads
    before = _views(learner)
    learner.get(f"{MODULE}/lessons/think")
    learner.get(f"{TRACK}/alpha-only/lessons/only")
    post(learner, f"{MODULE}/lessons/think/reflection", {"text": "Noted.", "action": "save"})
    after = _views(learner)
    assert after == before
    assert before[0] <= 3  # a re-read lesson: session, progress, and nothing per lesson
