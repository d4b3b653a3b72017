"""Errors meant for people, as classes of their own; one handler turns each into a page."""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message a person may read."""

    status_code = 400
    title = "Something was not right"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(UserFacingError):
    """The thing asked for does not exist, or the person may not know it exists."""

    status_code = 404
    title = "Page not found"


class PermissionDenied(UserFacingError):
    """The person is signed in but may not do this."""

    status_code = 403
    title = "You do not have access to this page"


class FormError(UserFacingError):
    """One or more form fields are not right; each message belongs beside its field."""

    status_code = 422
    title = "There is a problem"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


class TooManyAttempts(UserFacingError):
    """Sign-in is paused for a while after too many failed attempts."""

    status_code = 429
    title = "Too many attempts"
