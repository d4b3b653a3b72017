"""Accounts: sign in and out, sign up, passwords, password resets and invitations."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session, col, select
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, RedirectResponse, Response

from elearn.config import Settings
from elearn.db import SessionDep
from elearn.errors import FormError, TooManyAttempts
from elearn.models import Organisation, Partnership
from elearn.services import accounts, kept_forms, sessions
from elearn.services.kept_forms import KEPT_COOKIE
from elearn.web import ratelimit
from elearn.web.deps import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    SignedInDep,
    cookie_header,
    csrf_protect,
    settings_of,
)
from elearn.web.inputs import (
    EmailField,
    IdChoice,
    NameField,
    PasswordField,
    PathCode,
    QueryText,
    TypedText,
)
from elearn.web.templating import render

router = APIRouter(prefix="", dependencies=[Depends(csrf_protect)])
log = logging.getLogger("elearn.accounts")
Text = Annotated[str, Form()]
OptionalText = Annotated[str, Form()]


def safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/learning"


def _signed_in_response(
    request: Request, db: SessionDep, user_id: int, target: str, *, resume: bool = False
) -> Response:
    """Start a session and go to `target`; with `resume`, first complete a kept form."""
    from elearn.models import User

    user = db.get(User, user_id)
    assert user is not None
    sessions.end_session(db, token=request.cookies.get(SESSION_COOKIE))  # any earlier one here
    kept_token = request.cookies.get(KEPT_COOKIE)
    kept = kept_forms.take(db, token=kept_token, user_id=user_id) if resume else None
    token, csrf = sessions.start_session(db, user=user)
    settings = settings_of(request)
    response: Response = RedirectResponse(target, status_code=303)
    if kept is not None:
        response = _complete(request, kept, token=token, csrf=csrf)
    response.raw_headers.append(
        (
            b"set-cookie",
            cookie_header(
                SESSION_COOKIE,
                token,
                settings=settings,
                max_age=settings.session_absolute_hours * 3600,
            ),
        )
    )
    response.raw_headers.append(
        (b"set-cookie", cookie_header(CSRF_COOKIE, csrf, settings=settings))
    )
    if kept_token:
        response.raw_headers.append(
            (b"set-cookie", cookie_header(KEPT_COOKIE, "", settings=settings, clear=True))
        )
    return response


_OWN_COOKIES = (SESSION_COOKIE, CSRF_COOKIE, KEPT_COOKIE)


def _complete(request: Request, kept: kept_forms.Kept, *, token: str, csrf: str) -> Response:
    """Send the kept form again, as the person now signed in, through the app's own routes.

    The answer is theirs as if the session had never ended: where the route redirects, so does
    this; a page it shows (a form with a problem in it, say) is shown.
    """
    import anyio.from_thread
    import httpx

    client = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 0)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "cookie": f"{SESSION_COOKIE}={token}; {CSRF_COOKIE}={csrf}",
        "user-agent": request.headers.get("user-agent", ""),
        "accept": "text/html",
    }
    body = urlencode([*kept.fields, (CSRF_FIELD, csrf)])

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=request.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as http:
            return await http.post(kept.path, content=body, headers=headers)

    answer = anyio.from_thread.run(send)
    log.info("kept form completed after sign-in", extra={"path": kept.path.split("?")[0]})
    location = answer.headers.get("location")
    response: Response
    if answer.is_redirect and location:
        response = RedirectResponse(safe_next(location), status_code=303)
    else:
        response = Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type"),
        )
    for value in answer.headers.get_list("set-cookie"):
        if not value.startswith(tuple(f"{name}=" for name in _OWN_COOKIES)):
            response.raw_headers.append((b"set-cookie", value.encode()))
    return response


# Messages other pages send people here with, by key (never text from the address itself).
NOTICES = {
    "signed-out": "You have signed out.",
    "signed-out-everywhere": "You have been signed out on every device.",
    "password-changed": "Your password has been changed.",
    "password-reset": "Your password has been changed. Sign in with it now.",
}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


@router.get("/account/sign-in")
def sign_in_page(request: Request, db: SessionDep, next: QueryText = "") -> Response:
    """The sign-in form."""
    return render(
        request,
        "account/sign_in.html",
        errors={},
        email="",
        next=safe_next(next),
        notice=_notice(request),
        reason=_sign_in_reason(request),
        kept=kept_forms.waiting(db, token=request.cookies.get(KEPT_COOKIE)),
    )


def _sign_in_reason(request: Request) -> str:
    """Why this person was asked to sign in, in plain words, or nothing."""
    reason = request.query_params.get("reason")
    if reason == "timeout":
        minutes = settings_of(request).session_idle_minutes
        return (
            f"You were signed out after {minutes} minutes without activity, to protect your "
            "information. Sign in again to carry on."
        )
    if request.query_params.get("next"):
        return "You need to sign in to see that page."
    return ""


@router.post("/account/sign-in")
def sign_in(
    request: Request,
    db: SessionDep,
    email: EmailField = "",
    password: PasswordField = "",
    next: TypedText = "",
) -> Response:
    """Check the credentials; the same answer whether or not the email has an account."""
    address = ratelimit.client_address(request)
    try:
        user = accounts.authenticate(
            db, email=email, password=password, address=address, settings=settings_of(request)
        )
    except FormError as exc:
        return render(
            request,
            "account/sign_in.html",
            status_code=400,
            errors=exc.fields,
            email=email,
            next=safe_next(next),
            kept=kept_forms.waiting(db, token=request.cookies.get(KEPT_COOKIE)),
        )
    except TooManyAttempts as exc:
        return render(
            request,
            "account/sign_in.html",
            status_code=429,
            errors={},
            paused=exc.message,
            email=email,
            next=safe_next(next),
        )
    assert user.id is not None
    return _signed_in_response(request, db, user.id, safe_next(next), resume=True)


@router.post("/account/session")
def stay_signed_in(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """ "Stay signed in" from the timeout warning: counts as activity now."""
    sessions.keep_alive(db, session_id=viewer.session.id)
    idle_seconds = settings_of(request).session_idle_minutes * 60
    return JSONResponse({"signed_in": True, "idle_seconds": idle_seconds})


@router.post("/account/sign-out")
def sign_out(request: Request, db: SessionDep) -> Response:
    """End this browser's session."""
    sessions.end_session(db, token=request.cookies.get(SESSION_COOKIE))
    return _signed_out(request, "/account/sign-in?notice=signed-out")


def _signed_out(request: Request, target: str) -> Response:
    settings = settings_of(request)
    response = RedirectResponse(target, status_code=303)
    response.raw_headers.append(
        (b"set-cookie", cookie_header(SESSION_COOKIE, "", settings=settings, clear=True))
    )
    response.raw_headers.append(
        (b"set-cookie", cookie_header(CSRF_COOKIE, "", settings=settings, clear=True))
    )
    return response


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """End every session of this person, on every device."""
    assert viewer.user.id is not None
    sessions.end_all_sessions(db, user_id=viewer.user.id)
    return _signed_out(request, "/account/sign-in?notice=signed-out-everywhere")


def _organisations(db: SessionDep) -> list[tuple[Partnership, list[Organisation]]]:
    partnerships = db.exec(select(Partnership).order_by(col(Partnership.position))).all()
    orgs = db.exec(
        select(Organisation)
        .where(Organisation.signup != "invitation")
        .order_by(col(Organisation.name))
    ).all()
    return [(p, [o for o in orgs if o.partnership_id == p.id]) for p in partnerships]


@router.get("/account/sign-up")
def sign_up_page(request: Request, db: SessionDep) -> Response:
    """The sign-up form."""
    return render(
        request,
        "account/sign_up.html",
        errors={},
        organisations=_organisations(db),
        form={"name": "", "email": "", "organisation": ""},
    )


@router.post("/account/sign-up")
def sign_up(
    request: Request,
    db: SessionDep,
    name: NameField = "",
    email: EmailField = "",
    password: PasswordField = "",
    organisation: IdChoice = "",
) -> Response:
    """Start the account and email a link confirming the address; errors re-render the form,
    values kept."""
    org_id = int(organisation) if organisation.isdigit() else None
    try:
        ratelimit.check(request, "sign-up")
    except TooManyAttempts as exc:
        return render(
            request,
            "account/sign_up.html",
            status_code=429,
            errors={},
            paused=exc.message,
            organisations=_organisations(db),
            form={"name": name, "email": email, "organisation": organisation},
        )
    try:
        accounts.sign_up(
            db,
            name=name,
            email=email,
            password=password,
            organisation_id=org_id,
            settings=settings_of(request),
        )
    except FormError as exc:
        return render(
            request,
            "account/sign_up.html",
            status_code=400,
            errors=exc.fields,
            organisations=_organisations(db),
            form={"name": name, "email": email, "organisation": organisation},
        )
    # the same page whether the address is new or already has an account
    return render(request, "account/check_email.html", email=accounts.normalise_email(email))


@router.get("/account/confirm/{token}")
def confirm_page(request: Request, db: SessionDep, token: PathCode) -> Response:
    """Confirm an email address, from its emailed link (a button, so that mail scanners
    opening the link do not use it up)."""
    accounts.confirmation_for_token(db, token=token)
    return render(request, "account/confirm.html", token=token)


@router.post("/account/confirm/{token}")
def confirm(request: Request, db: SessionDep, token: PathCode) -> Response:
    """Confirm the address, once, and sign in."""
    user = accounts.confirm_email(db, token=token)
    assert user.id is not None
    return _signed_in_response(request, db, user.id, "/learning")


@router.get("/account")
def account_page(request: Request, db: SessionDep, viewer: SignedInDep) -> Response:
    """Details, password change and signing out everywhere."""
    org = db.get(Organisation, viewer.user.organisation_id) if viewer.user.organisation_id else None
    return render(
        request,
        "account/account.html",
        errors={},
        user=viewer.user,
        organisation=org,
        notice=_notice(request),
    )


@router.post("/account/password")
def change_password(
    request: Request,
    db: SessionDep,
    viewer: SignedInDep,
    current_password: PasswordField = "",
    new_password: PasswordField = "",
) -> Response:
    """Change the password; other devices are signed out."""
    try:
        accounts.change_password(
            db,
            user=viewer.user,
            current=current_password,
            new=new_password,
            keep_session=request.cookies.get(SESSION_COOKIE),
        )
    except FormError as exc:
        org = (
            db.get(Organisation, viewer.user.organisation_id)
            if viewer.user.organisation_id
            else None
        )
        return render(
            request,
            "account/account.html",
            status_code=400,
            errors=exc.fields,
            user=viewer.user,
            organisation=org,
        )
    return RedirectResponse("/account?notice=password-changed", status_code=303)


@router.get("/account/forgot")
def forgot_page(request: Request) -> Response:
    """Ask for a password reset link."""
    return render(request, "account/forgot.html", errors={}, email="", sent=False)


@router.post("/account/forgot")
def forgot(request: Request, db: SessionDep, email: EmailField = "") -> Response:
    """Send a link if the account exists; the page says the same either way."""
    if not accounts.EMAIL.match(accounts.normalise_email(email)):
        return render(
            request,
            "account/forgot.html",
            status_code=400,
            email=email,
            sent=False,
            errors={"email": "Enter an email address in the correct format, like name@example.org"},
        )
    try:
        ratelimit.check(request, "reset")
    except TooManyAttempts as exc:
        return render(
            request,
            "account/forgot.html",
            status_code=429,
            errors={},
            paused=exc.message,
            email=email,
            sent=False,
        )
    settings = settings_of(request)
    response = render(
        request,
        "account/forgot.html",
        errors={},
        email=email,
        sent=True,
        minutes=settings.reset_link_minutes,
    )
    # Sent after the page: how long the answer takes says nothing about the account.
    response.background = BackgroundTask(_send_reset, request.app.state.engine, email, settings)
    return response


def _send_reset(engine: Any, email: str, settings: Settings) -> None:
    try:
        with Session(engine) as db:
            accounts.request_password_reset(db, email=email, settings=settings)
    except Exception:
        log.exception("could not send a password reset email")


@router.get("/account/reset/{token}")
def reset_page(request: Request, db: SessionDep, token: PathCode) -> Response:
    """Choose a new password, from an emailed link."""
    accounts.reset_for_token(db, token=token)
    return render(request, "account/reset.html", errors={}, token=token)


@router.post("/account/reset/{token}")
def reset(
    request: Request, db: SessionDep, token: PathCode, password: PasswordField = ""
) -> Response:
    """Set the new password; every session ends; sign in again."""
    try:
        accounts.complete_password_reset(db, token=token, password=password)
    except FormError as exc:
        return render(
            request, "account/reset.html", status_code=400, errors=exc.fields, token=token
        )
    return _signed_out(
        request,
        "/account/sign-in?notice=password-reset",
    )


@router.get("/invitations/{token}")
def invitation_page(request: Request, db: SessionDep, token: PathCode) -> Response:
    """Accept an invitation: name and password."""
    invitation = accounts.invitation_for_token(db, token=token)
    return render(
        request,
        "account/invitation.html",
        errors={},
        token=token,
        name=invitation.name or "",
        invitation=invitation,
        organisation=db.get(Organisation, invitation.organisation_id),
    )


@router.post("/invitations/{token}")
def accept_invitation(
    request: Request,
    db: SessionDep,
    token: PathCode,
    name: NameField = "",
    password: PasswordField = "",
) -> Response:
    """Create the account from the invitation and sign in."""
    try:
        user = accounts.accept_invitation(db, token=token, name=name, password=password)
    except FormError as exc:
        invitation = accounts.invitation_for_token(db, token=token)
        return render(
            request,
            "account/invitation.html",
            status_code=400,
            errors=exc.fields,
            token=token,
            name=name,
            invitation=invitation,
            organisation=db.get(Organisation, invitation.organisation_id),
        )
    assert user.id is not None
    return _signed_in_response(request, db, user.id, "/learning")
