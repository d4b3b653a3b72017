"""Checking a certificate PDF offline: its signature, its signer, and that the file is
exactly what its signed data draws."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen.canvas import Canvas

from elearn.certificates import pdf, signing
from elearn.certificates.check import check_pdf
from elearn.certificates.data import CertificateData, ModuleRecord, canonical_bytes
from elearn.certificates.signing import PublishedKey, Signed

from .conftest import LEICS, NOTTS, make_data

Keys = dict[str, PublishedKey]
DRAWING = "The page's drawing differs from what the signed data gives."


@pytest.fixture(scope="session")
def public_keys(private_key: Ed25519PrivateKey) -> Keys:
    """The published keys a checker trusts: the issuing partnership's, bound to it."""
    return signing.trusted_keys([PublishedKey("leicestershire", LEICS, private_key.public_key())])


def test_a_genuine_certificate_passes(
    certificate_pdf: bytes, public_keys: Keys, data: CertificateData
) -> None:
    result = check_pdf(certificate_pdf, public_keys)
    assert result.ok
    assert result.problems == []
    assert result.data == data


def test_certificates_with_unusual_names_and_no_level_pass(
    private_key: Ed25519PrivateKey, public_keys: Keys
) -> None:
    data = make_data(holder_name="Llŷr  Ó Súilleabháin", nes_level=None, cpd_minutes=60)
    result = check_pdf(pdf.render(data, signing.sign(data, private_key)), public_keys)
    assert result.problems == []


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"holder_name": "Jane Doe"}, "Jane Doe"),
        ({"completed_on": make_data().completed_on.replace(year=2025)}, "2025"),
        ({"course_title": "Advanced trauma practice"}, "Advanced"),
        ({"cpd_minutes": 1200}, '"30 minutes"'),
        ({"code": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG"}, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG"),
        ({"nes_level": "Trauma-enhanced"}, "Trauma-enhanced"),
        ({"issuer_name": NOTTS}, "Nottingham"),
        ({"partners": (LEICS,)}, "Nottingham"),
        ({"modules": (ModuleRecord("advanced", "Advanced practice", "9"),)}, "Advanced"),
        ({"supersedes": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG"}, "replacing"),
    ],
)
def test_a_page_drawn_from_other_data_is_refused_quoting_the_words_that_differ(
    change: dict[str, Any], shown: str, signed: Signed, public_keys: Keys
) -> None:
    forged = pdf.render_unchecked(make_data(**change), signed)
    result = check_pdf(forged, public_keys)
    assert not result.ok
    assert result.problems[0] == DRAWING
    assert any(shown in problem for problem in result.problems[1:]), result.problems
    assert result.data == make_data()


def test_a_page_missing_what_was_certified_is_refused(
    private_key: Ed25519PrivateKey, public_keys: Keys
) -> None:
    genuine = make_data()
    forged = pdf.render_unchecked(make_data(nes_level=None), signing.sign(genuine, private_key))
    result = check_pdf(forged, public_keys)
    assert result.problems[0] == DRAWING
    assert any(
        "missing from the page's text" in p and "Trauma-informed" in p for p in result.problems
    )


# The signer must be the partnership named as issuer ------------------------------------


@pytest.fixture(scope="session")
def notts_key() -> Ed25519PrivateKey:
    """Nottinghamshire's signing key, which must not vouch for Leicestershire's certificates."""
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def both_keys(private_key: Ed25519PrivateKey, notts_key: Ed25519PrivateKey) -> Keys:
    """Both partnerships' published keys."""
    return signing.trusted_keys(
        [
            PublishedKey("leicestershire", LEICS, private_key.public_key()),
            PublishedKey("nottinghamshire", NOTTS, notts_key.public_key()),
        ]
    )


def test_a_certificate_signed_with_the_other_partnerships_key_is_refused(
    notts_key: Ed25519PrivateKey, both_keys: Keys
) -> None:
    data = make_data()  # issued by Leicestershire
    signed = signing.sign(data, notts_key)
    result = check_pdf(pdf.render(data, signed), both_keys)
    assert not result.ok
    assert result.data is None
    assert result.problems == [
        f"This certificate names {LEICS} as its issuer, but it was signed with the key of "
        f"{NOTTS} ({signed.key_id}): a partnership's key signs only its own certificates."
    ]


def test_a_certificate_that_prints_another_issuers_name_is_refused(
    private_key: Ed25519PrivateKey, both_keys: Keys
) -> None:
    data = make_data(issuer_name=NOTTS)  # Leicestershire's id and key, Nottinghamshire's name
    result = check_pdf(pdf.render(data, signing.sign(data, private_key)), both_keys)
    assert not result.ok
    assert result.problems[0].startswith(f"This certificate names {NOTTS} as its issuer")


def test_the_other_partnerships_own_certificates_pass(
    notts_key: Ed25519PrivateKey, both_keys: Keys
) -> None:
    data = make_data(issuer_id="nottinghamshire", issuer_name=NOTTS)
    assert check_pdf(pdf.render(data, signing.sign(data, notts_key)), both_keys).problems == []


def test_a_key_listed_without_a_partnership_vouches_for_nothing(
    private_key: Ed25519PrivateKey, certificate_pdf: bytes, signed: Signed
) -> None:
    old = {signed.key_id: PublishedKey(None, None, private_key.public_key())}
    result = check_pdf(certificate_pdf, old)
    assert not result.ok
    assert result.problems == [
        f"This certificate was signed with a key ({signed.key_id}) that the published keys do "
        f"not assign to any partnership, so it cannot vouch for a certificate issued by {LEICS}."
    ]


def test_signed_data_that_cannot_be_drawn_again_is_refused(
    private_key: Ed25519PrivateKey, data: CertificateData, public_keys: Keys
) -> None:
    # Genuinely signed, but not in the exact form the service signs, so not what any
    # certificate was drawn from.
    payload = json.dumps(json.loads(canonical_bytes(data)), indent=2).encode()
    odd = Signed(
        payload=payload,
        signature=private_key.sign(payload),
        key_id=signing.key_id(private_key.public_key()),
    )
    result = check_pdf(pdf.render_unchecked(data, odd), public_keys)
    assert not result.ok
    assert result.problems == [
        "The certificate cannot be drawn again from its signed data, so the page cannot be "
        "compared with it."
    ]


# What cannot be read -----------------------------------------------------------------


def test_a_payload_edited_after_signing_is_caught(
    data: CertificateData, signed: Signed, public_keys: Keys
) -> None:
    edited = make_data(holder_name="Jane Doe")
    forged = pdf.render_unchecked(
        edited, dataclasses.replace(signed, payload=canonical_bytes(edited))
    )
    result = check_pdf(forged, public_keys)
    assert not result.ok
    assert result.data is None
    assert result.problems == [
        "The signature does not match the certificate data: the data or the signature has been "
        "changed since it was issued."
    ]


def test_a_changed_signature_is_caught(
    data: CertificateData, signed: Signed, public_keys: Keys
) -> None:
    changed = dataclasses.replace(signed, signature=bytes(64))
    result = check_pdf(pdf.render_unchecked(data, changed), public_keys)
    assert not result.ok
    assert "signature does not match" in result.problems[0]


def test_a_certificate_signed_with_an_unknown_key_is_refused(
    data: CertificateData, public_keys: Keys
) -> None:
    stranger = signing.sign(data, Ed25519PrivateKey.generate())
    result = check_pdf(pdf.render(data, stranger), public_keys)
    assert not result.ok
    assert result.problems == [
        f"This certificate was signed with a key ({stranger.key_id}) that is not one of the "
        "partnerships' published keys."
    ]


def test_a_file_that_is_not_a_pdf_is_a_problem_not_a_crash(public_keys: Keys) -> None:
    for content in (b"", b"hello", b"Certificate for Jane", bytes(range(256)) * 10):
        result = check_pdf(content, public_keys)
        assert not result.ok
        assert result.problems == ["This file is not a PDF."]


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_a_truncated_pdf_is_a_problem_not_a_crash(
    certificate_pdf: bytes, public_keys: Keys, keep: float
) -> None:
    result = check_pdf(certificate_pdf[: int(len(certificate_pdf) * keep)], public_keys)
    assert not result.ok
    assert result.problems


def test_a_pdf_without_certificate_data_says_so(public_keys: Keys) -> None:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "Certificate of completion: Jane Doe")
    canvas.save()
    result = check_pdf(buffer.getvalue(), public_keys)
    assert result.problems == ["This PDF carries no certificate data."]


def test_a_certificate_with_its_data_removed_says_so(
    certificate_pdf: bytes, public_keys: Keys
) -> None:
    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(certificate_pdf)).pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    assert check_pdf(buffer.getvalue(), public_keys).problems == [
        "This PDF carries no certificate data."
    ]


def test_damaged_certificate_data_says_so(data: CertificateData, public_keys: Keys) -> None:
    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(pdf.render_unchecked(data, _any_signed(data)))).pages[0])
    writer.add_attachment("certificate.json", b'{"payload": "%%%"}')
    buffer = io.BytesIO()
    writer.write(buffer)
    [problem] = check_pdf(buffer.getvalue(), public_keys).problems
    assert problem.startswith("This PDF carries no certificate data that can be read")


def _any_signed(data: CertificateData) -> Signed:
    return signing.sign(data, Ed25519PrivateKey.generate())


def test_a_name_typed_with_separate_accents_checks_as_genuine(
    private_key: Ed25519PrivateKey, public_keys: Keys
) -> None:
    data = make_data(holder_name="Siobha\u0301n Murphy")
    result = check_pdf(pdf.render(data, signing.sign(data, private_key)), public_keys)
    assert result.problems == []
    assert result.data == data
