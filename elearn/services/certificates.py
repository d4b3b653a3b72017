"""Certificates in the database: issued with a track completion, revoked, re-issued, and
checked by anyone with the code. The PDF, codes and signatures are in `elearn.certificates`."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import IO, Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, col, select

from elearn.certificates import codes, pdf, signing
from elearn.certificates.data import CertificateData, ModuleRecord, from_canonical
from elearn.config import Settings
from elearn.content.catalog import CourseView, TrackView
from elearn.errors import FormError, NotFound, UserFacingError
from elearn.models import (
    Certificate,
    CertificateFile,
    ModuleCompletion,
    Partnership,
    TeamManager,
    TrackCompletion,
    User,
    utcnow,
)
from elearn.services import audit
from elearn.services.sessions import _aware

PRACTICE_LEVELS = {
    "informed": "Trauma-informed",
    "skilled": "Trauma-skilled",
    "enhanced": "Trauma-enhanced",
    "specialist": "Trauma-specialist",
}


REASON_MAX = 1000  # the revocation reason column


class CertificateRefused(UserFacingError):
    """An admin action on a certificate that cannot be done as asked."""

    status_code = 409
    title = "That cannot be done to this certificate"


# Keys ---------------------------------------------------------------------------------


def private_key(settings: Settings, partnership_id: str) -> Ed25519PrivateKey:
    """The partnership's signing key: from ELEARN_SIGNING_KEYS, or, outside production only,
    derived from the secret key so that development certificates verify across restarts."""
    text = settings.signing_keys.get(partnership_id)
    if text:
        return signing.load_private_key(text)
    if settings.environment == "production":
        raise RuntimeError(f"ELEARN_SIGNING_KEYS has no key for partnership {partnership_id!r}")
    seed = hashlib.sha256(f"{settings.secret_key}:certificates:{partnership_id}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def published_keys(db: Session, settings: Settings) -> list[signing.PublishedKey]:
    """Every partnership's current public key."""
    return [
        signing.PublishedKey(p.id, p.name, private_key(settings, p.id).public_key())
        for p in db.exec(select(Partnership).order_by(col(Partnership.position))).all()
    ]


def keys_document(db: Session, settings: Settings) -> dict[str, Any]:
    """The JSON published at /certificates/keys.json (and read by `certificates verify`)."""
    return signing.published_keys_document(published_keys(db, settings))


# Issuing ------------------------------------------------------------------------------


def verify_url(settings: Settings, code: str) -> str:
    """The public page where anyone can check this certificate."""
    return f"{settings.public_url}/verify/{code}"


def _new_code(db: Session) -> str:
    while True:  # 140 random bits: a clash is practically impossible, but cheap to rule out
        code = codes.new_code()
        if db.exec(select(Certificate.id).where(Certificate.code == code)).first() is None:
            return code


def _store(
    db: Session,
    *,
    settings: Settings,
    data: CertificateData,
    user_id: int,
    track_completion_id: int | None,
    supersedes_id: int | None = None,
) -> Certificate:
    """Sign, render and store a certificate in the caller's transaction."""
    signed = signing.sign(data, private_key(settings, data.issuer_id))
    document = pdf.render(data, signed)
    certificate = Certificate(
        code=data.code,
        user_id=user_id,
        partnership_id=data.issuer_id,
        track_completion_id=track_completion_id,
        course_id=data.course_id,
        track_id=data.track_id,
        holder_name=data.holder_name,
        completed_on=data.completed_on,
        issued_at=data.issued_at,
        payload=signed.payload.decode("utf-8"),
        signature=base64.b64encode(signed.signature).decode("ascii"),
        key_id=signed.key_id,
        sha256=hashlib.sha256(document).hexdigest(),
        supersedes_id=supersedes_id,
    )
    db.add(certificate)
    db.flush()
    assert certificate.id is not None
    db.add(CertificateFile(certificate_id=certificate.id, pdf=document))
    return certificate


def issue_for_track(
    db: Session,
    *,
    settings: Settings,
    user_id: int,
    course: CourseView,
    track: TrackView,
    completion: TrackCompletion,
) -> Certificate:
    """Issue the certificate for a track just completed, in the caller's transaction."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    partnerships = db.exec(select(Partnership).order_by(col(Partnership.position))).all()
    issuer = next(p for p in partnerships if p.id == user.partnership_id)
    versions = {
        row.module_id: row.module_version
        for row in db.exec(
            select(ModuleCompletion)
            .where(
                ModuleCompletion.user_id == user_id,
                ModuleCompletion.course_id == course.id,
                col(ModuleCompletion.module_id).in_([m.id for m in track.modules]),
            )
            .order_by(col(ModuleCompletion.module_version))
        ).all()
    }
    code = _new_code(db)
    completed = _aware(completion.completed_at)
    data = CertificateData(
        code=code,
        holder_name=user.name,
        course_id=course.id,
        course_title=course.model.title,
        track_id=track.id,
        track_title=track.model.title,
        modules=tuple(
            ModuleRecord(m.id, m.model.title, str(versions.get(m.id, m.model.version)))
            for m in track.modules
        ),
        completed_on=completed.date(),
        issued_at=utcnow().replace(microsecond=0),
        cpd_minutes=track.minutes,
        nes_level=PRACTICE_LEVELS.get(course.model.practice_level),
        issuer_id=issuer.id,
        issuer_name=issuer.name,
        partners=tuple(p.name for p in partnerships),
        verify_url=verify_url(settings, code),
        supersedes=None,
        drawing=pdf.DRAWING,
    )
    return _store(
        db, settings=settings, data=data, user_id=user_id, track_completion_id=completion.id
    )


# Reading ------------------------------------------------------------------------------


def by_code(db: Session, code: str) -> Certificate | None:
    """The certificate with this code as a person typed it, or None (malformed codes too)."""
    normal = codes.normalise(code)
    if normal is None:
        return None
    return db.exec(select(Certificate).where(Certificate.code == normal)).first()


def of_user(db: Session, user_id: int) -> list[Certificate]:
    """A person's certificates, newest first, superseded and revoked ones included."""
    return list(
        db.exec(
            select(Certificate)
            .where(Certificate.user_id == user_id)
            .order_by(col(Certificate.issued_at).desc(), col(Certificate.id).desc())
        ).all()
    )


def data_of(certificate: Certificate) -> CertificateData:
    """What the certificate certifies, as signed."""
    return from_canonical(certificate.payload.encode("utf-8"))


def pdf_of(db: Session, certificate: Certificate) -> bytes:
    """The PDF exactly as issued."""
    stored = db.get(CertificateFile, certificate.id)
    if stored is None:
        raise NotFound("The file for this certificate is missing.")
    return stored.pdf


def status(certificate: Certificate) -> str:
    """valid, revoked or superseded."""
    if certificate.revoked_at is not None:
        return "revoked"
    if certificate.superseded_by_id is not None:
        return "superseded"
    return "valid"


def manages(db: Session, *, manager_id: int, user_id: int) -> bool:
    """Whether the manager manages the team this person is in."""
    holder = db.get(User, user_id)
    if holder is None or holder.team_id is None:
        return False
    return (
        db.exec(
            select(TeamManager).where(
                TeamManager.team_id == holder.team_id, TeamManager.user_id == manager_id
            )
        ).first()
        is not None
    )


def is_admin_for(viewer: User, certificate: Certificate, holder: User | None) -> bool:
    """A partnership admin of the issuing partnership or of the holder's partnership."""
    if viewer.role != "admin":
        return False
    return viewer.partnership_id == certificate.partnership_id or (
        holder is not None and viewer.partnership_id == holder.partnership_id
    )


def can_download(db: Session, viewer: User, certificate: Certificate) -> bool:
    """The holder, their managers and partnership admins may download a certificate."""
    assert viewer.id is not None
    if viewer.id == certificate.user_id:
        return True
    if viewer.role == "admin":
        return is_admin_for(viewer, certificate, db.get(User, certificate.user_id))
    return viewer.role == "manager" and manages(
        db, manager_id=viewer.id, user_id=certificate.user_id
    )


# Admin: revoke and re-issue -------------------------------------------------------------


def _admin_certificate(db: Session, admin: User, code: str) -> Certificate:
    certificate = by_code(db, code)
    if certificate is None or not is_admin_for(
        admin, certificate, db.get(User, certificate.user_id)
    ):
        raise NotFound("There is no certificate with that code that you look after.")
    return certificate


def _audit(db: Session, actor: User, action: str, subject_id: int | None, **detail: Any) -> None:
    audit.record(db, actor=actor, action=action, subject_id=subject_id, **detail)


def revoke(db: Session, *, admin: User, code: str, reason: str) -> Certificate:
    """Mark a certificate revoked, with the reason shown on its verification page."""
    reason = reason.strip()
    if not reason:
        raise FormError({"reason": "Enter the reason for revoking this certificate"})
    if len(reason) > REASON_MAX:
        raise FormError({"reason": f"Enter a reason of {REASON_MAX} characters or fewer"})
    certificate = _admin_certificate(db, admin, code)
    if certificate.revoked_at is not None:
        raise CertificateRefused(
            f"This certificate was already revoked on {certificate.revoked_at:%d %B %Y}."
        )
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = reason
    certificate.revoked_by_id = admin.id
    db.add(certificate)
    _audit(
        db, admin, "certificate.revoke", certificate.user_id, code=certificate.code, reason=reason
    )
    db.commit()
    db.refresh(certificate)
    return certificate


def reissue(
    db: Session, *, admin: User, code: str, holder_name: str, settings: Settings
) -> Certificate:
    """A new certificate with a corrected name; the old one points to it as superseded."""
    holder_name = " ".join(holder_name.split())
    if not holder_name:
        raise FormError({"holder_name": "Enter the name as it should appear on the certificate"})
    if len(holder_name) > 200:
        raise FormError({"holder_name": "Enter a name of 200 characters or fewer"})
    missing = pdf.unsupported_characters(holder_name)
    if missing:
        raise FormError(
            {
                "holder_name": f"The certificate cannot print {' '.join(missing)}: remove "
                "these characters or write them another way"
            }
        )
    old = _admin_certificate(db, admin, code)
    if old.revoked_at is not None:
        raise CertificateRefused("A revoked certificate cannot be re-issued.")
    if old.superseded_by_id is not None:
        raise CertificateRefused(
            "This certificate has already been replaced. Re-issue the newest one instead."
        )
    new_code = _new_code(db)
    data = replace(
        data_of(old),
        code=new_code,
        holder_name=holder_name,
        issued_at=utcnow().replace(microsecond=0),
        verify_url=verify_url(settings, new_code),
        supersedes=old.code,
        drawing=pdf.DRAWING,
    )
    try:
        new = _store(
            db,
            settings=settings,
            data=data,
            user_id=old.user_id,
            track_completion_id=old.track_completion_id,
            supersedes_id=old.id,
        )
        old.superseded_by_id = new.id
        db.add(old)
        holder = db.get(User, old.user_id)
        if holder is not None and holder.name != holder_name:
            holder.name = holder_name
            db.add(holder)
        _audit(
            db,
            admin,
            "certificate.reissue",
            old.user_id,
            code=old.code,
            new_code=new.code,
            old_name=old.holder_name,
            new_name=holder_name,
        )
        db.commit()
    except Exception:
        db.rollback()
        raise
    db.refresh(new)
    return new


def superseding(db: Session, certificate: Certificate) -> Certificate | None:
    """The certificate that replaced this one, if any."""
    if certificate.superseded_by_id is None:
        return None
    return db.get(Certificate, certificate.superseded_by_id)


def require_download(db: Session, viewer: User, code: str) -> Certificate:
    """The certificate if this person may download it; NotFound otherwise (no hint either way)."""
    certificate = by_code(db, code)
    if certificate is None or not can_download(db, viewer, certificate):
        raise NotFound("There is no certificate with that code that you can download.")
    return certificate


# Bulk download ----------------------------------------------------------------------------


def file_name(certificate: Certificate) -> str:
    """A file name that sorts by person and says what it is."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in certificate.holder_name).strip("-")
    return f"{safe or 'certificate'}-{certificate.track_id}-{certificate.code}.pdf"


class _Sink:
    """A write-only file object that hands out what was written since last asked."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def zip_stream(db: Session, ids: Iterable[int], batch: int = 200) -> Iterator[bytes]:
    """A ZIP of the certificates' PDFs, produced piece by piece: memory stays flat however
    many there are. PDFs are compressed already, so they are stored, not deflated again."""
    sink = _Sink()
    ids = list(ids)
    with zipfile.ZipFile(
        cast(IO[bytes], sink), mode="w", compression=zipfile.ZIP_STORED
    ) as archive:
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            rows = db.exec(
                select(Certificate, CertificateFile)
                .join(CertificateFile, col(CertificateFile.certificate_id) == Certificate.id)
                .where(col(Certificate.id).in_(chunk))
                .order_by(col(Certificate.holder_name), col(Certificate.id))
            ).all()
            for certificate, stored in rows:
                when = certificate.issued_at
                info = zipfile.ZipInfo(
                    file_name(certificate), date_time=(when.year, when.month, when.day, 0, 0, 0)
                )
                archive.writestr(info, stored.pdf)
                yield sink.take()
            db.expunge_all()
    yield sink.take()
