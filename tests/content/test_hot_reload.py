"""The running server picks up content edits, and keeps the last good content on a bad edit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from elearn.app import create_app
from elearn.config import Settings
from elearn.content.catalog import CatalogStore, load_catalog

MODULE_URL = "/courses/sample/alpha/alpha-only"


@pytest.fixture
def live_client(settings: Settings) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"reload_courses": True})
    with TestClient(create_app(settings, configure_logging=False)) as client:
        time.sleep(0.3)  # let the watcher start
        yield client


def _wait_for(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_good_edit_is_served_without_a_restart(
    live_client: TestClient, courses_dir: Path
) -> None:
    path = courses_dir / "sample" / "modules" / "alpha-only.yaml"
    before = live_client.get("/health").json()["content"]["version"]
    path.write_text(path.read_text().replace("title: Alpha only", "title: Alpha, revised"))
    assert _wait_for(lambda: "Alpha, revised" in live_client.get(MODULE_URL).text)
    assert live_client.get("/health").json()["content"]["version"] != before


def test_a_bad_edit_keeps_the_last_good_content(
    live_client: TestClient, courses_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    path = courses_dir / "sample" / "modules" / "alpha-only.yaml"
    path.write_text(path.read_text().replace("title: Alpha only", "titel: Alpha broken"))
    assert _wait_for(
        lambda: live_client.get("/health").json()["content"]["last_reload_problems"] > 0
    )
    page = live_client.get(MODULE_URL)
    assert page.status_code == 200 and "Alpha only" in page.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{path}:2:1: unknown key 'titel'" in logged
    assert "kept content version" in logged
    # fixing the file brings the new content in
    path.write_text(path.read_text().replace("titel: Alpha broken", "title: Alpha mended"))
    assert _wait_for(lambda: "Alpha mended" in live_client.get(MODULE_URL).text)


def test_a_reload_renders_only_the_modules_that_changed(courses_dir: Path) -> None:
    store = CatalogStore(courses_dir, load_catalog(courses_dir))
    before = store.current.course("sample").modules  # type: ignore[union-attr]
    path = courses_dir / "sample" / "modules" / "alpha-only.yaml"
    path.write_text(path.read_text().replace("Some **bold** text.", "Some new text."))
    assert store.reload()
    after = store.current.course("sample").modules  # type: ignore[union-attr]
    assert after["shared-basics"] is before["shared-basics"]
    assert after["alpha-only"] is not before["alpha-only"]
    assert "Some new text." in str(after["alpha-only"].lessons("alpha")[0].html)
