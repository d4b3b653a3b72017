"""What partnership admin pages share: who may use them, and the admin home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from elearn.errors import NotFound
from elearn.models import User
from elearn.web.deps import SessionDep, SignedInDep
from elearn.web.templating import render

router = APIRouter()

# The admin's sections, in the order they are listed: (address, title, what it is for).
SECTIONS: list[tuple[str, str, str]] = [
    ("/manage", "Team completion", "Who has completed what, for every team in the partnership."),
    ("/manage/assignments", "Required training", "What each team or sector must complete."),
    ("/admin/certificates", "Certificates", "Find, re-issue or revoke a certificate."),
    ("/admin/api-tokens", "Reporting API tokens", "Tokens for reading completion data."),
]


def admin_of(viewer: SignedInDep) -> User:
    """The signed-in partnership admin; NotFound for anyone else (nothing to see here)."""
    if viewer.user.role != "admin":
        raise NotFound("This page is for partnership admins.")
    return viewer.user


AdminDep = Annotated[User, Depends(admin_of)]


@router.get("/admin")
def admin_home(request: Request, db: SessionDep, admin: AdminDep) -> Response:
    """The admin's sections."""
    return render(request, "admin/index.html", admin=admin, sections=SECTIONS)
