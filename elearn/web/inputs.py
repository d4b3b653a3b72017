"""Every kind of value a request may carry, typed and bounded in one place.

Routes declare their parameters with these types, so a value out of range, a digit that is not
an ASCII digit, a far date, a NUL character or an over-long text is refused before any route
code or database sees it (a 422 with the field named). Filters and forms that re-render with a
note use the plain parsers at the bottom (`whole_number`, `plain_text`) instead of raising.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Form, Path, Query
from pydantic import AfterValidator, BeforeValidator

MAX_ID = 2**31 - 1  # the largest id a PostgreSQL INTEGER column holds
MAX_PAGE = 100_000
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
_DIGITS = re.compile(r"[0-9]{1,10}")
_ANY_DIGITS = re.compile(r"[0-9]{1,100}")  # longer ones are refused as out of range

# Column sizes of the text people type (see elearn/models.py).
REASON_LENGTH = 500
SHORT_LENGTH = 200  # ids, codes, choices and other short values
LONG_LENGTH = 100_000  # a reflection (its route refuses past 20,000 beside the box)
TYPED_LENGTH = 10_000


def whole_number(raw: object, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """`raw` as a number from `low` to `high` written in ASCII digits; None for anything else."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def plain_text(raw: object, *, max_length: int = SHORT_LENGTH) -> str | None:
    """`raw` if it is text without NUL characters and at most `max_length` long; else None."""
    if not isinstance(raw, str) or "\x00" in raw or len(raw) > max_length:
        return None
    return raw


def _ascii_digits(value: object) -> object:
    """Refuse a number written other than in ASCII digits (`²` or `٣` pass `str.isdigit`)."""
    if isinstance(value, str) and not _ANY_DIGITS.fullmatch(value.strip().removeprefix("-")):
        raise ValueError("must be a whole number written with the digits 0 to 9")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _id_or_empty(value: str) -> str:
    if value.strip() and whole_number(value) is None:
        raise ValueError("must be one of the choices offered")
    return value


def _sensible_date(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be a date from {EARLIEST} to {LATEST}")
    return value


Digits = BeforeValidator(_ascii_digits)
NoNul = AfterValidator(_no_nul)
SensibleDate = AfterValidator(_sensible_date)

# Ids in the address: /manage/people/{user_id} and the like.
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive whole number."), Digits]
PathCode = Annotated[str, Path(max_length=SHORT_LENGTH), NoNul]

# Query string values (the reporting API and the few plain query parameters).
# A filter id outside the table's ids is ignored with a note; beyond the column's range, 422.
QueryId = Annotated[int | None, Query(ge=-MAX_ID, le=MAX_ID), Digits]
QueryDate = Annotated[date | None, Query(), SensibleDate]
QueryText = Annotated[str, Query(max_length=SHORT_LENGTH), NoNul]
OptionalQueryText = Annotated[str | None, Query(max_length=SHORT_LENGTH), NoNul]

# Form fields. `TypedText` is for fields whose route checks the length itself and shows the
# message beside the field; past TYPED_LENGTH (no one types that much) it is a plain 422.
TypedText = Annotated[str, Form(max_length=TYPED_LENGTH), NoNul]
FormText = Annotated[str, Form(max_length=SHORT_LENGTH), NoNul]
# A person's name, email address and password are checked by the account services, which
# answer beside the field (too long, a control character, a wrong format); only past
# TYPED_LENGTH is it a plain 422.
_PersonTyped = Annotated[str, Form(max_length=TYPED_LENGTH)]
NameField = _PersonTyped
EmailField = _PersonTyped
PasswordField = _PersonTyped
ReasonField = Annotated[str, Form(max_length=REASON_LENGTH), NoNul]
IdChoice = Annotated[str, Form(max_length=SHORT_LENGTH), AfterValidator(_id_or_empty)]
LongText = Annotated[str, Form(max_length=LONG_LENGTH), NoNul]
