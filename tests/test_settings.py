"""Settings: the public address follows the server unless set, and production requires it."""

from __future__ import annotations

import logging

import pytest

from elearn import logs
from elearn.config import SettingsError, load_settings


def test_links_follow_the_host_and_port_served_when_no_base_url_is_set() -> None:
    settings = load_settings(port=8123)
    assert settings.public_url == "http://127.0.0.1:8123"
    assert settings.model_copy(update={"host": "0.0.0.0", "port": 9000}).public_url == (
        "http://127.0.0.1:9000"
    )


def test_a_set_base_url_is_used_as_written() -> None:
    settings = load_settings(base_url="https://learn.example.org/", port=8123)
    assert settings.public_url == "https://learn.example.org"


def test_production_refuses_to_start_without_a_base_url() -> None:
    with pytest.raises(SettingsError, match="ELEARN_BASE_URL"):
        load_settings(
            environment="production",
            secret_key="x" * 48,
        )


def test_logs_are_readable_lines_for_a_person_and_json_otherwise(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored after the test
    monkeypatch.setattr(root, "level", root.level)
    logs.configure("info", human=True)
    logging.getLogger("elearn").info("serving content version %s", "abc")
    line = capsys.readouterr().err.strip()
    assert line.endswith("serving content version abc") and not line.startswith("{")
    logs.configure("info")
    logging.getLogger("elearn").info("hello")
    assert capsys.readouterr().err.strip().startswith('{"time"')
    assert logs.readable("production") is False
