"""Certificate data, keys and rendered PDFs shared by the certificate tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from elearn.certificates import pdf, signing
from elearn.certificates.data import CertificateData, ModuleRecord

NOTTS = "Nottingham and Nottinghamshire Violence Reduction Partnership"
LEICS = "Leicestershire Violence Reduction Network"
CODE = "7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEG"


def make_data(**changes: Any) -> CertificateData:
    """A realistic certificate; keyword arguments replace fields."""
    data = CertificateData(
        code=CODE,
        holder_name="Siobhán O’Connor-Whitfield",
        course_id="trauma-informed-practice",
        course_title="Trauma-informed practice",
        track_id="youth-justice",
        track_title="Trauma-informed practice for youth justice",
        modules=(
            ModuleRecord("understanding-trauma", "Understanding trauma", "2"),
            ModuleRecord("aces-and-resilience", "ACEs and resilience", "3"),
            ModuleRecord("six-principles", "The six principles", "1"),
            ModuleRecord("child-first-youth-justice", "Child First youth justice", "2"),
        ),
        completed_on=dt.date(2026, 11, 24),
        issued_at=dt.datetime(2026, 11, 24, 16, 5, 12, 345678, tzinfo=dt.UTC),
        cpd_minutes=330,
        nes_level="Trauma-informed",
        issuer_id="leicestershire",
        issuer_name=LEICS,
        partners=(NOTTS, LEICS),
        verify_url=f"https://learning.example.org.uk/verify/{CODE}",
        supersedes=None,
    )
    return dataclasses.replace(data, **changes)


@pytest.fixture(scope="session")
def private_key() -> Ed25519PrivateKey:
    """The issuing partnership's signing key for this test run."""
    return signing.load_private_key(signing.generate_private_key_text())


@pytest.fixture(scope="session")
def public_keys(private_key: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    """The published keys a checker trusts."""
    public_key = private_key.public_key()
    return {signing.key_id(public_key): public_key}


@pytest.fixture(scope="session")
def data() -> CertificateData:
    """The certificate the tests issue."""
    return make_data()


@pytest.fixture(scope="session")
def signed(data: CertificateData, private_key: Ed25519PrivateKey) -> signing.Signed:
    """The certificate's signed data."""
    return signing.sign(data, private_key)


@pytest.fixture(scope="session")
def certificate_pdf(data: CertificateData, signed: signing.Signed) -> bytes:
    """The certificate as a PDF."""
    return pdf.render(data, signed)
