"""`elearn certificates keygen` and `elearn certificates verify`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from elearn.certificates import pdf, signing
from elearn.certificates.cli import app, public_keys_from_settings
from elearn.certificates.data import CertificateData
from elearn.certificates.signing import PublishedKey, Signed

from .conftest import LEICS, NOTTS, make_data

runner = CliRunner()


def _keys_file(folder: Path, key: Ed25519PrivateKey) -> Path:
    document = signing.published_keys_document(
        [PublishedKey("leicestershire", LEICS, key.public_key())]
    )
    path = folder / "keys.json"
    path.write_text(json.dumps(document))
    return path


def test_keygen_prints_a_key_and_how_to_use_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keygen"])
    assert result.exit_code == 0
    private = re.search(r"private key: (ed25519:\S+)", result.output)
    assert private is not None
    key = signing.load_private_key(private.group(1))
    assert signing.key_id(key.public_key()) in result.output
    assert signing.public_key_text(key.public_key()) in result.output
    assert 'ELEARN_SIGNING_KEYS=\'{"nottinghamshire": "ed25519:' in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_valid_certificate_exits_0_and_says_who_and_what(
    tmp_path: Path, certificate_pdf: bytes, private_key: Ed25519PrivateKey
) -> None:
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(certificate_pdf)
    result = runner.invoke(
        app, ["verify", str(certificate), "--keys", str(_keys_file(tmp_path, private_key))]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Valid certificate")
    for expected in (
        "Siobhán O’Connor-Whitfield",
        "Trauma-informed practice for youth justice",
        "24 November 2026",
        "Leicestershire Violence Reduction Network",
    ):
        assert expected in result.output


def test_a_tampered_certificate_exits_1_with_every_problem(
    tmp_path: Path, signed: Signed, private_key: Ed25519PrivateKey
) -> None:
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(pdf.render_unchecked(make_data(holder_name="Jane Doe"), signed))
    result = runner.invoke(
        app, ["verify", str(certificate), "--keys", str(_keys_file(tmp_path, private_key))]
    )
    assert result.exit_code == 1
    assert "Not a valid certificate" in result.output
    assert "  - The page's drawing differs from what the signed data gives." in result.output
    assert '"Jane Doe"' in result.output


def test_without_keys_the_signing_keys_setting_is_used(
    tmp_path: Path, data: CertificateData
) -> None:
    text = signing.generate_private_key_text()
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(pdf.render(data, signing.sign(data, signing.load_private_key(text))))
    setting = json.dumps({"leicestershire": text})
    result = runner.invoke(app, ["verify", str(certificate)], env={"ELEARN_SIGNING_KEYS": setting})
    assert result.exit_code == 0, result.output
    other = json.dumps({"leicestershire": signing.generate_private_key_text()})
    result = runner.invoke(app, ["verify", str(certificate)], env={"ELEARN_SIGNING_KEYS": other})
    assert result.exit_code == 1
    assert "not one of the partnerships' published keys" in result.output


def test_without_keys_given_the_installations_own_keys_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = signing.generate_private_key_text()
    public_key = signing.load_private_key(text).public_key()
    monkeypatch.setenv("ELEARN_SIGNING_KEYS", json.dumps({"nottinghamshire": text}))
    monkeypatch.setenv("ELEARN_ENVIRONMENT", "production")
    monkeypatch.setenv("ELEARN_BASE_URL", "https://learn.example.org")
    monkeypatch.setenv("ELEARN_SECRET_KEY", "a-production-secret-for-this-test-only-0123456789")
    assert public_keys_from_settings() == {
        signing.key_id(public_key): PublishedKey("nottinghamshire", NOTTS, public_key)
    }
    monkeypatch.setenv("ELEARN_ENVIRONMENT", "development")
    both = public_keys_from_settings()  # plus a development key for the other partnership
    assert signing.key_id(public_key) in both and len(both) == 2
    assert {key.partnership for key in both.values()} == {"nottinghamshire", "leicestershire"}


def test_a_file_that_is_not_a_pdf_exits_1(tmp_path: Path, private_key: Ed25519PrivateKey) -> None:
    certificate = tmp_path / "certificate.pdf"
    certificate.write_text("not a pdf")
    result = runner.invoke(
        app, ["verify", str(certificate), "--keys", str(_keys_file(tmp_path, private_key))]
    )
    assert result.exit_code == 1
    assert "This file is not a PDF." in result.output


def test_missing_or_bad_keys_are_explained(tmp_path: Path, certificate_pdf: bytes) -> None:
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(certificate_pdf)
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": "none"}')
    result = runner.invoke(app, ["verify", str(certificate), "--keys", str(bad)])
    assert result.exit_code == 2
    assert 'needs a "keys" list' in result.output
    production = {
        "ELEARN_ENVIRONMENT": "production",
        "ELEARN_BASE_URL": "https://learn.example.org",
        "ELEARN_SECRET_KEY": "a-production-secret-for-this-test-only-0123456789",
    }
    result = runner.invoke(app, ["verify", str(certificate)], env=production)
    assert result.exit_code == 2
    assert "ELEARN_SIGNING_KEYS must be set in production" in result.output


def test_a_certificate_signed_with_the_other_partnerships_key_exits_1(
    tmp_path: Path, data: CertificateData
) -> None:
    notts = signing.generate_private_key_text()
    certificate = tmp_path / "certificate.pdf"  # says Leicestershire, signed by Nottinghamshire
    certificate.write_bytes(pdf.render(data, signing.sign(data, signing.load_private_key(notts))))
    setting = json.dumps(
        {"nottinghamshire": notts, "leicestershire": signing.generate_private_key_text()}
    )
    result = runner.invoke(app, ["verify", str(certificate)], env={"ELEARN_SIGNING_KEYS": setting})
    assert result.exit_code == 1
    assert (
        f"names {LEICS} as its issuer, but it was signed with the key of {NOTTS}" in result.output
    )


def test_one_key_set_for_both_partnerships_is_explained(
    tmp_path: Path, certificate_pdf: bytes
) -> None:
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(certificate_pdf)
    text = signing.generate_private_key_text()
    setting = json.dumps({"nottinghamshire": text, "leicestershire": text})
    result = runner.invoke(app, ["verify", str(certificate)], env={"ELEARN_SIGNING_KEYS": setting})
    assert result.exit_code == 2
    assert "each partnership needs a key of its own" in result.output
