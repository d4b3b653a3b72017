"""A certificate issued by the service, on each database, checks out offline against the
published keys, and not against keys that name the wrong partnership."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from elearn.app import create_app
from elearn.certificates import signing
from elearn.certificates.check import check_pdf
from elearn.config import Settings
from elearn.db import upgrade
from elearn.models import Organisation
from elearn.services.demo import seed_demo
from elearn.services.partnerships import load_partnerships
from tests.conftest import post, sign_up
from tests.web.test_certificates import finish_alpha


@pytest.fixture
def learner_on_each_db(settings: Settings, database_url: str) -> Iterator[TestClient]:
    """A learner enrolled on the alpha track, on SQLite and on PostgreSQL when reachable."""
    if not database_url.startswith("sqlite"):
        upgrade(database_url)  # create_app migrates SQLite only
    app = create_app(
        settings.model_copy(update={"database_url": database_url}), configure_logging=False
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        with Session(app.state.engine) as db:
            load_partnerships(db)
            seed_demo(db)
            organisation = db.exec(select(Organisation).order_by(col(Organisation.id))).first()
            assert organisation is not None
        assert sign_up(client, organisation).status_code == 303
        assert post(client, "/courses/sample/alpha/enrol").status_code == 303
        yield client


def _swapped(document: dict[str, Any]) -> dict[str, Any]:
    """The keys document with each key listed under the other partnership."""
    first, second = document["keys"]
    named = ("partnership", "name")
    return {
        "keys": [
            {**first, **{k: second[k] for k in named}},
            {**second, **{k: first[k] for k in named}},
        ]
    }


def test_an_issued_certificate_checks_out_only_with_its_own_partnerships_key(
    learner_on_each_db: TestClient,
) -> None:
    client = learner_on_each_db
    certificate = finish_alpha(client)
    download = client.get(f"/certificates/{certificate.code}.pdf")
    assert download.status_code == 200
    published = client.get("/certificates/keys.json").json()
    result = check_pdf(download.content, signing.parse_published_keys(published))
    assert result.problems == []
    assert result.data is not None and result.data.issuer_id == certificate.partnership_id

    wrong = check_pdf(download.content, signing.parse_published_keys(_swapped(published)))
    assert not wrong.ok
    [problem] = wrong.problems
    assert problem.startswith(f"This certificate names {result.data.issuer_name} as its issuer")
    assert "a partnership's key signs only its own certificates" in problem
