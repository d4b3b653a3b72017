"""Certificates on the web: public verification, a learner's own, managers' bulk downloads,
and admins' revocation and re-issue."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar
from starlette.responses import RedirectResponse, Response, StreamingResponse

from elearn.certificates import codes
from elearn.db import SessionDep
from elearn.errors import FormError, NotFound, TooManyAttempts
from elearn.models import Certificate, Organisation, Partnership, Team, TeamManager, User
from elearn.services import certificates
from elearn.web import ratelimit
from elearn.web.deps import SignedInDep, csrf_protect, settings_of
from elearn.web.downloads import attachment
from elearn.web.inputs import OptionalQueryText, PathCode, QueryText, TypedText
from elearn.web.pages import catalog_of
from elearn.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)])
Text = TypedText


def _titles(request: Request) -> dict[tuple[str, str], str]:
    """(course id, track id) -> the track's title, for lists."""
    return {
        (course.id, track.id): track.model.title
        for course in catalog_of(request).courses
        for track in course.tracks
    }


# Public verification ----------------------------------------------------------------------


@router.get("/verify")
def verify_form(request: Request, code: OptionalQueryText = None) -> Response:
    """Type a code to check a certificate; a well-formed code goes to its page."""
    if code is None:
        return render(request, "certificates/verify_form.html", errors={}, code="")
    normal = codes.normalise(code)
    if normal is None:
        return render(
            request,
            "certificates/verify_form.html",
            status_code=400,
            errors={
                "code": "Enter the code as it is printed on the certificate, "
                "like 7KQ4-M9XD-2H6P-... (letters and numbers; spaces and dashes do not matter)"
            },
            code=code,
        )
    return RedirectResponse(f"/verify/{normal}", status_code=303)


@router.get("/verify/{code:path}")
def verify_page(request: Request, db: SessionDep, code: str) -> Response:
    """What a certificate certifies and whether it still stands; no sign-in needed."""
    try:
        ratelimit.check(request, "verify")
    except TooManyAttempts as exc:
        return render(
            request,
            "certificates/verify_form.html",
            status_code=429,
            errors={},
            code=code,
            paused=exc.message,
        )
    certificate = certificates.by_code(db, code)
    if certificate is None:
        return render(request, "certificates/not_found.html", status_code=404, code=code[:60])
    replaced_by = certificates.superseding(db, certificate)
    issuer = db.get(Partnership, certificate.partnership_id)
    return render(
        request,
        "certificates/verify.html",
        certificate=certificate,
        data=certificates.data_of(certificate),
        status=certificates.status(certificate),
        replaced_by=replaced_by,
        issuer=issuer,
    )


@router.get("/certificates/keys.json")
def published_keys(request: Request, db: SessionDep) -> Response:
    """The partnerships' public keys, for checking certificate PDFs offline."""
    return JSONResponse(
        certificates.keys_document(db, settings_of(request)),
        headers={"Cache-Control": "public, max-age=3600"},
    )


# A learner's own -------------------------------------------------------------------------


@router.get("/certificates")
def my_certificates(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """Every certificate the person holds, downloadable at any time."""
    assert viewer.user.id is not None
    mine = certificates.of_user(db, viewer.user.id)
    return render(
        request,
        "certificates/mine.html",
        certificates=mine,
        statuses={c.id: certificates.status(c) for c in mine},
        titles=_titles(request),
    )


@router.get("/certificates/{code}.pdf")
def download(request: Request, db: SessionDep, viewer: SignedInDep, code: PathCode) -> Response:
    """The PDF as issued: for its holder, their managers and partnership admins."""
    certificate = certificates.require_download(db, viewer.user, code)
    return Response(
        certificates.pdf_of(db, certificate),
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachment(certificates.file_name(certificate)),
            "Cache-Control": "private, no-store",
        },
    )


# Managers and admins: lists and ZIP downloads ----------------------------------------------


def _scope_query(
    db: Session, user: User, team: str, track: str
) -> tuple[SelectOfScalar[Certificate], list[Team]]:
    """Certificates this manager or admin may see, filtered; NotFound for anyone else."""
    query = select(Certificate).join(User, col(User.id) == Certificate.user_id)
    if user.role == "admin":
        query = query.where(User.partnership_id == user.partnership_id)
        teams = db.exec(
            select(Team)
            .join(Organisation, col(Organisation.id) == Team.organisation_id)
            .where(Organisation.partnership_id == user.partnership_id)
            .order_by(col(Team.name))
        ).all()
    elif user.role == "manager":
        teams = db.exec(
            select(Team)
            .join(TeamManager, col(TeamManager.team_id) == Team.id)
            .where(TeamManager.user_id == user.id)
            .order_by(col(Team.name))
        ).all()
        query = query.where(col(User.team_id).in_([t.id for t in teams]))
    else:
        raise NotFound("This page is for managers and partnership admins.")
    if team:
        chosen = next((t for t in teams if str(t.id) == team), None)
        if chosen is None:
            raise NotFound("There is no such team among the teams you look after.")
        query = query.where(User.team_id == chosen.id)
    if track:
        query = query.where(Certificate.track_id == track)
    return query.order_by(col(Certificate.holder_name), col(Certificate.id)), list(teams)


@router.get("/manage/certificates")
def manage_certificates(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    team: QueryText = "",
    track: QueryText = "",
) -> Response:
    """The certificates of the people a manager or admin looks after, with a ZIP download."""
    query, teams = _scope_query(db, viewer.user, team, track)
    rows = db.exec(query.limit(500)).all()
    return render(
        request,
        "certificates/manage.html",
        rows=rows,
        teams=teams,
        team=team,
        track=track,
        titles=_titles(request),
        statuses={c.id: certificates.status(c) for c in rows},
    )


@router.get("/manage/certificates.zip")
def manage_zip(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    team: QueryText = "",
    track: QueryText = "",
) -> Response:
    """The filtered certificates' PDFs in one ZIP, streamed as it is built."""
    query, _ = _scope_query(db, viewer.user, team, track)
    ids = [c.id for c in db.exec(query).all() if c.id is not None]
    engine = request.app.state.engine

    def stream() -> Iterator[bytes]:
        with Session(engine) as own:
            yield from certificates.zip_stream(own, ids)

    return StreamingResponse(
        stream(),
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="certificates.zip"',
            "Cache-Control": "private, no-store",
        },
    )


# Admins: revoke and re-issue ---------------------------------------------------------------


def _admin(viewer: SignedInDep) -> User:
    user = viewer.user
    if user.role != "admin":
        raise NotFound("This page is for partnership admins.")
    return user


@router.get("/admin/certificates")
def admin_search(
    request: Request, db: SessionDep, viewer: SignedInDep, q: QueryText = ""
) -> Response:
    """Find a certificate by code or holder name, among those of the admin's partnership."""
    admin = _admin(viewer)
    rows: list[Certificate] = []
    if q.strip():
        query = select(Certificate).join(User, col(User.id) == Certificate.user_id)
        query = query.where(
            (Certificate.partnership_id == admin.partnership_id)
            | (User.partnership_id == admin.partnership_id)
        )
        normal = codes.normalise(q)
        if normal:
            query = query.where(Certificate.code == normal)
        else:
            query = query.where(col(Certificate.holder_name).ilike(f"%{q.strip()[:100]}%"))
        rows = list(db.exec(query.order_by(col(Certificate.issued_at).desc()).limit(100)).all())
    return render(
        request,
        "certificates/admin_search.html",
        q=q,
        rows=rows,
        titles=_titles(request),
        statuses={c.id: certificates.status(c) for c in rows},
    )


def _admin_page(
    request: Request,
    db: SessionDep,
    admin: User,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
    confirm: str | None = None,
) -> Response:
    """The certificate's page; `confirm`: the reason to revoke it with, asking first."""
    certificate = certificates.by_code(db, code)
    if certificate is None or not certificates.is_admin_for(
        admin, certificate, db.get(User, certificate.user_id)
    ):
        raise NotFound("There is no certificate with that code that you look after.")
    return render(
        request,
        "certificates/admin_detail.html",
        status_code=status_code,
        certificate=certificate,
        data=certificates.data_of(certificate),
        status=certificates.status(certificate),
        replaced_by=certificates.superseding(db, certificate),
        errors=errors or {},
        form=form or {"reason": "", "holder_name": certificate.holder_name},
        notice=notice,
        confirm=confirm,
    )


@router.get("/admin/certificates/{code}")
def admin_detail(request: Request, db: SessionDep, viewer: SignedInDep, code: PathCode) -> Response:
    """One certificate, with revoke and re-issue."""
    admin = _admin(viewer)
    done = request.query_params.get("done")
    notice = {
        "revoked": "The certificate is revoked.",
        "reissued": "The new certificate is issued.",
    }
    return _admin_page(request, db, admin, code, notice=notice.get(done or ""))


@router.post("/admin/certificates/{code}/revoke")
def admin_revoke(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    code: PathCode,
    reason: Text = "",
    confirmed: Text = "",
) -> Response:
    """Revoke with a reason, once the admin has confirmed on a page that shows what will be
    public; the verification page shows it from then on."""
    admin = _admin(viewer)
    if confirmed != "yes":
        return _confirm_revoke(request, db, admin, code, reason)
    try:
        certificate = certificates.revoke(db, admin=admin, code=code, reason=reason)
    except FormError as exc:
        return _admin_page(
            request,
            db,
            admin,
            code,
            errors=exc.fields,
            status_code=400,
            form={"reason": reason, "holder_name": ""},
        )
    return RedirectResponse(f"/admin/certificates/{certificate.code}?done=revoked", status_code=303)


def _confirm_revoke(
    request: Request, db: SessionDep, admin: User, code: str, reason: str
) -> Response:
    """The step before revoking: what the check page will say, to confirm or cancel."""
    certificate = certificates.by_code(db, code)
    if certificate is None or not certificates.is_admin_for(
        admin, certificate, db.get(User, certificate.user_id)
    ):
        raise NotFound("There is no certificate with that code that you look after.")
    if certificates.status(certificate) == "revoked" and certificate.revoked_at is not None:
        raise certificates.CertificateRefused(
            f"This certificate was already revoked on {certificate.revoked_at:%d %B %Y}."
        )
    if not reason.strip():
        return _admin_page(
            request,
            db,
            admin,
            code,
            errors={"reason": "Enter the reason for revoking this certificate"},
            status_code=400,
            form={"reason": reason, "holder_name": ""},
        )
    return _admin_page(request, db, admin, code, confirm=reason.strip())


@router.post("/admin/certificates/{code}/reissue")
def admin_reissue(
    request: Request, db: SessionDep, viewer: SignedInDep, code: PathCode, holder_name: Text = ""
) -> Response:
    """Re-issue with a corrected name: a new certificate; the old one says it was replaced."""
    admin = _admin(viewer)
    try:
        new = certificates.reissue(
            db, admin=admin, code=code, holder_name=holder_name, settings=settings_of(request)
        )
    except FormError as exc:
        return _admin_page(
            request,
            db,
            admin,
            code,
            errors=exc.fields,
            status_code=400,
            form={"reason": "", "holder_name": holder_name},
        )
    return RedirectResponse(f"/admin/certificates/{new.code}?done=reissued", status_code=303)
