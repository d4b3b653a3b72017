"""Checking a certificate PDF offline: is its signed data genuine, and does the page show it?"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pypdf import PdfReader

from elearn.certificates import codes
from elearn.certificates.data import CertificateData
from elearn.certificates.pdf import (
    ATTACHMENT_NAME,
    BEFORE_COURSE,
    BEFORE_NAME,
    CODE_LABEL,
    COMPLETED_LABEL,
    CPD_SUFFIX,
    LEVEL_LABEL,
    LEVEL_SUFFIX,
    SEPARATOR,
    TRACK_LABEL,
    VISIT_LABEL,
    cpd_text,
    date_text,
)
from elearn.certificates.signing import SignatureProblem, Signed, verify

NO_DATA = "This PDF carries no certificate data."


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What a check found: ok only when there are no problems."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    data: CertificateData | None = None


def _failed(problem: str) -> CheckResult:
    return CheckResult(ok=False, problems=[problem], data=None)


def _tidy(text: str) -> str:
    """Text compared as a reader sees it: composed accents, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).split())


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


def _page_lines(reader: PdfReader) -> list[str] | None:
    try:
        text = reader.pages[0].extract_text()
    except Exception:  # damaged page content
        return None
    return [_tidy(line) for line in text.splitlines() if line.strip()]


def _after(lines: list[str], anchor: str) -> str | None:
    for number, line in enumerate(lines[:-1]):
        if line == anchor:
            return lines[number + 1]
    return None


def _starting(lines: list[str], prefix: str) -> str | None:
    for line in lines:
        if line.startswith(prefix):
            return line.removeprefix(prefix)
    return None


def _shown(lines: list[str]) -> dict[str, str | None]:
    """What the page shows for each certified field, as text; None where it shows nothing."""
    details = [_tidy(p) for p in (_starting(lines, COMPLETED_LABEL) or "").split(SEPARATOR)]
    level = _starting(lines, LEVEL_LABEL)
    return {
        "name": _after(lines, BEFORE_NAME),
        "course": _after(lines, BEFORE_COURSE),
        "track": _starting(lines, TRACK_LABEL),
        "completion date": details[0] or None,
        "CPD time": next((p for p in details[1:] if p.endswith(CPD_SUFFIX)), None),
        "practice level": level.removesuffix(LEVEL_SUFFIX) if level else None,
        "verification code": _after(lines, CODE_LABEL),
        "verification address": _after(lines, VISIT_LABEL),
    }


_NOUNS = {
    "name": "name",
    "course": "course",
    "track": "track",
    "completion date": "date",
    "CPD time": "CPD time",
    "practice level": "practice level",
    "verification code": "code",
    "verification address": "address",
}


def _certified(data: CertificateData) -> dict[str, str | None]:
    return {
        "name": data.holder_name,
        "course": data.course_title,
        "track": data.track_title,
        "completion date": date_text(data.completed_on),
        "CPD time": cpd_text(data.cpd_minutes),
        "practice level": data.nes_level,
        "verification code": data.code,
        "verification address": data.verify_url,
    }


def _same(label: str, shown: str, certified: str) -> bool:
    if label == "verification code":
        return codes.normalise(shown) == codes.normalise(certified)
    return _tidy(shown) == _tidy(certified)


def _mismatch(label: str, shown: str | None, certified: str | None) -> str | None:
    """One sentence saying how the page differs from the certified value, if it does."""
    noun = _NOUNS[label]
    if certified is None:
        if shown is None:
            return None
        return f'The page shows a {label} ("{shown}") that was not certified.'
    if shown is None:
        return f'The page does not show the {label} that was certified ("{certified}").'
    if _same(label, shown, certified):
        return None
    return (
        f'The {label} on the page ("{shown}") is not the {noun} that was certified ("{certified}").'
    )


def compare_page(lines: list[str], data: CertificateData) -> list[str]:
    """Every difference between the page's text lines and the certified data."""
    shown, certified = _shown(lines), _certified(data)
    found = (_mismatch(label, shown[label], certified[label]) for label in _NOUNS)
    return [problem for problem in found if problem]


def check_pdf(pdf: bytes, public_keys: Mapping[str, Ed25519PublicKey]) -> CheckResult:
    """Check a certificate PDF against the partnerships' public keys. Never raises."""
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
    lines = _page_lines(reader)
    if lines is None:
        return CheckResult(ok=False, problems=["The text of the page cannot be read."], data=data)
    problems = compare_page(lines, data)
    return CheckResult(ok=not problems, problems=problems, data=data)
