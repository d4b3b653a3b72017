"""Checking a certificate PDF offline, and every way a forgery shows itself."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen.canvas import Canvas

from elearn.certificates import pdf, signing
from elearn.certificates.check import check_pdf
from elearn.certificates.data import CertificateData, canonical_bytes
from elearn.certificates.signing import Signed

from .conftest import make_data

Keys = dict[str, Ed25519PublicKey]


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
    ("change", "message"),
    [
        (
            {"holder_name": "Jane Doe"},
            'The name on the page ("Jane Doe") is not the name that was certified '
            '("Siobhán O’Connor-Whitfield").',
        ),
        (
            {"completed_on": make_data().completed_on.replace(year=2025)},
            'The completion date on the page ("24 November 2025") is not the date that was '
            'certified ("24 November 2026").',
        ),
        (
            {"course_title": "Advanced trauma practice"},
            'The course on the page ("Advanced trauma practice") is not the course that was '
            'certified ("Trauma-informed practice").',
        ),
        (
            {"track_title": "Policing"},
            'The track on the page ("Policing") is not the track that was certified '
            '("Trauma-informed practice for youth justice").',
        ),
        (
            {"cpd_minutes": 1200},
            'The CPD time on the page ("20 hours of CPD") is not the CPD time that was '
            'certified ("5 hours 30 minutes of CPD").',
        ),
        (
            {"code": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG"},
            'The verification code on the page ("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG") is not '
            'the code that was certified ("7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEG").',
        ),
        (
            {"nes_level": "Trauma-enhanced"},
            'The practice level on the page ("Trauma-enhanced") is not the practice level '
            'that was certified ("Trauma-informed").',
        ),
        (
            {"nes_level": None},
            'The page does not show the practice level that was certified ("Trauma-informed").',
        ),
        (
            {"verify_url": "https://certificates.example.com/verify/7K3M-9QXR"},
            'The verification address on the page ("https://certificates.example.com/verify/'
            '7K3M-9QXR") is not the address that was certified ("https://learning.example.org'
            '.uk/verify/7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEG").',
        ),
    ],
)
def test_a_page_that_differs_from_its_signed_data_says_which_field_and_what_was_certified(
    change: dict[str, Any], message: str, signed: Signed, public_keys: Keys
) -> None:
    forged = pdf.render_unchecked(make_data(**change), signed)
    result = check_pdf(forged, public_keys)
    assert not result.ok
    assert result.problems == [message]
    assert result.data == make_data()


def test_every_difference_is_listed(signed: Signed, public_keys: Keys) -> None:
    forged = pdf.render_unchecked(make_data(holder_name="Jane Doe", cpd_minutes=90), signed)
    problems = check_pdf(forged, public_keys).problems
    assert len(problems) == 2
    assert problems[0].startswith("The name on the page")
    assert problems[1].startswith("The CPD time on the page")


def test_a_level_that_was_never_certified_is_noticed(
    private_key: Ed25519PrivateKey, public_keys: Keys
) -> None:
    genuine = make_data(nes_level=None)
    forged = pdf.render_unchecked(make_data(), signing.sign(genuine, private_key))
    assert check_pdf(forged, public_keys).problems == [
        'The page shows a practice level ("Trauma-informed") that was not certified.'
    ]


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
