"""What a certificate says, and the exact bytes that are signed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

FORMAT = 1
"""Version of the canonical form; bumped if its fields ever change meaning."""


@dataclass(frozen=True, slots=True)
class ModuleRecord:
    """A module the holder completed, pinned to the version they completed."""

    id: str
    title: str
    version: str


@dataclass(frozen=True, slots=True)
class CertificateData:
    """Everything a certificate states about its holder and how it was issued."""

    code: str
    holder_name: str
    course_id: str
    course_title: str
    track_id: str
    track_title: str
    modules: tuple[ModuleRecord, ...]
    completed_on: dt.date
    issued_at: dt.datetime
    cpd_minutes: int
    nes_level: str | None
    issuer_id: str
    issuer_name: str
    partners: tuple[str, ...]
    verify_url: str
    supersedes: str | None = None
    drawing: int = 1
    """Which page layout and fonts drew it (elearn.certificates.pdf.DRAWINGS): the offline
    check draws it again with the same ones, whatever the service draws new certificates
    with. Drawing 1 is not written in the signed bytes (certificates from before drawings
    were numbered carry none)."""

    def __post_init__(self) -> None:
        if self.issued_at.utcoffset() != dt.timedelta(0):
            raise ValueError("issued_at must be a time in UTC (timezone-aware)")
        if self.cpd_minutes < 0:
            raise ValueError("cpd_minutes cannot be negative")
        if self.drawing < 1:
            raise ValueError("drawing must be 1 or more")


_STRING_FIELDS = (
    "code",
    "holder_name",
    "course_id",
    "course_title",
    "track_id",
    "track_title",
    "issuer_id",
    "issuer_name",
    "verify_url",
)
_OPTIONAL_FIELDS = ("nes_level", "supersedes")
_ALL_FIELDS = {
    "format",
    "modules",
    "completed_on",
    "issued_at",
    "cpd_minutes",
    "partners",
    *_STRING_FIELDS,
    *_OPTIONAL_FIELDS,
}


def _to_document(data: CertificateData) -> dict[str, Any]:
    document: dict[str, Any] = {name: getattr(data, name) for name in _STRING_FIELDS}
    document.update(
        format=FORMAT,
        modules=[{"id": m.id, "title": m.title, "version": m.version} for m in data.modules],
        completed_on=data.completed_on.isoformat(),
        issued_at=data.issued_at.astimezone(dt.UTC).isoformat(),
        cpd_minutes=data.cpd_minutes,
        partners=list(data.partners),
        nes_level=data.nes_level,
        supersedes=data.supersedes,
    )
    if data.drawing != 1:
        document["drawing"] = data.drawing
    return document


def canonical_bytes(data: CertificateData) -> bytes:
    """The certificate as deterministic JSON: the exact bytes that get signed."""
    return json.dumps(
        _to_document(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _require(value: Any, kind: type, name: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{name} should be a {kind.__name__}")
    return value


def _module(item: Any) -> ModuleRecord:
    _require(item, dict, "each module")
    if set(item) != {"id", "title", "version"}:
        raise ValueError("each module needs exactly id, title and version")
    return ModuleRecord(
        id=_require(item["id"], str, "module id"),
        title=_require(item["title"], str, "module title"),
        version=_require(item["version"], str, "module version"),
    )


def _from_document(document: Any) -> CertificateData:
    _require(document, dict, "the certificate")
    if document.get("format") != FORMAT:
        raise ValueError(f"unknown certificate format {document.get('format')!r}")
    if set(document) - {"drawing"} != _ALL_FIELDS:
        raise ValueError("the certificate does not have the expected fields")
    drawing = _require(document.get("drawing", 1), int, "drawing")
    if "drawing" in document and drawing < 2:  # drawing 1 is never written: one form only
        raise ValueError("the certificate's drawing number is not one that is written")
    strings: dict[str, Any] = {name: _require(document[name], str, name) for name in _STRING_FIELDS}
    for name in _OPTIONAL_FIELDS:
        strings[name] = None if document[name] is None else _require(document[name], str, name)
    partners = _require(document["partners"], list, "partners")
    try:
        completed_on = dt.date.fromisoformat(_require(document["completed_on"], str, "date"))
        issued_at = dt.datetime.fromisoformat(_require(document["issued_at"], str, "time"))
    except ValueError as exc:
        raise ValueError(f"a date in the certificate cannot be read: {exc}") from None
    return CertificateData(
        **strings,
        modules=tuple(_module(m) for m in _require(document["modules"], list, "modules")),
        completed_on=completed_on,
        issued_at=issued_at,
        cpd_minutes=_require(document["cpd_minutes"], int, "cpd_minutes"),
        partners=tuple(_require(p, str, "each partner") for p in partners),
        drawing=drawing,
    )


def from_canonical(raw: bytes) -> CertificateData:
    """Read certificate data back from its canonical bytes; ValueError if they are not that."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the certificate data is not valid JSON: {exc}") from None
    return _from_document(document)
