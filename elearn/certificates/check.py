"""Checking a certificate PDF offline: is its signed data genuine, and is the file exactly
what that data draws?"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from pypdf import PdfReader

from elearn.certificates.compare import differences
from elearn.certificates.data import CertificateData
from elearn.certificates.pdf import ATTACHMENT_NAME, UnknownDrawing, render
from elearn.certificates.signing import PublishedKey, SignatureProblem, Signed, verify

NO_DATA = "This PDF carries no certificate data."


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What a check found: ok only when there are no problems."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    data: CertificateData | None = None


def _failed(problem: str) -> CheckResult:
    return CheckResult(ok=False, problems=[problem], data=None)


def _read(pdf: bytes) -> PdfReader | str:
    """The parsed PDF, or the problem that stops it being read."""
    if b"%PDF-" not in pdf[:1024]:
        return "This file is not a PDF."
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if len(reader.pages) == 0:
            return "This PDF has no pages."
    except Exception:  # pypdf raises many kinds of error for damaged files
        return "This PDF is damaged or incomplete and cannot be read."
    return reader


def _signed(reader: PdfReader) -> Signed | str:
    """The signed data embedded in the PDF, or the problem that stops it being read."""
    try:
        contents = reader.attachments.get(ATTACHMENT_NAME)
    except Exception:  # a damaged attachment tree
        contents = None
    if not contents:
        return NO_DATA
    try:
        return Signed.from_json(contents[0])
    except ValueError:
        return (
            f"This PDF carries no certificate data that can be read: {ATTACHMENT_NAME} is damaged."
        )


def _fresh(data: CertificateData, signed: Signed) -> PdfReader | str:
    """The certificate drawn afresh from its signed data, or why that cannot be done."""
    try:
        return PdfReader(io.BytesIO(render(data, signed)))
    except UnknownDrawing:
        return (
            "This certificate was drawn by a newer version of the service than this check "
            "knows, so its page cannot be compared: check it on the issuer's website, or "
            "with an up-to-date copy of the check."
        )
    except Exception:  # signed data that this service's drawing cannot take
        return (
            "The certificate cannot be drawn again from its signed data, so the page cannot "
            "be compared with it."
        )


def check_pdf(pdf: bytes, public_keys: Mapping[str, PublishedKey]) -> CheckResult:
    """Check a certificate PDF against the partnerships' public keys. Never raises.

    Valid only when the signature is genuine, made with the key of the partnership named as
    issuer, and the file's pages are exactly what the signed data draws.
    """
    reader = _read(pdf)
    if isinstance(reader, str):
        return _failed(reader)
    signed = _signed(reader)
    if isinstance(signed, str):
        return _failed(signed)
    try:
        data = verify(signed, public_keys)
    except SignatureProblem as problem:
        return _failed(problem.message)
    fresh = _fresh(data, signed)
    if isinstance(fresh, str):
        return CheckResult(ok=False, problems=[fresh], data=data)
    try:
        problems = differences(reader, fresh)
    except Exception:  # a page tree or object too damaged to walk
        problems = ["The pages cannot be read to compare them with the signed data."]
    return CheckResult(ok=not problems, problems=problems, data=data)
