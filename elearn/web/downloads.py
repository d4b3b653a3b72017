"""Headers for files people download."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

# Letters that do not decompose into a plain letter and an accent.
_PLAIN = str.maketrans(
    {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "ss", "Æ": "AE",
     "æ": "ae", "Œ": "OE", "œ": "oe", "ı": "i", "Þ": "Th", "þ": "th", "ð": "d"}
)  # fmt: skip


def attachment(file_name: str) -> str:
    """A Content-Disposition value for any file name: an ASCII fallback and the name in UTF-8.

    HTTP headers carry Latin-1 only, so a name such as "Łucja-Śliwa.pdf" or one in Gujarati is
    sent as RFC 6266's `filename*`, with a plain-letters `filename` for older clients.
    """
    plain = unicodedata.normalize("NFKD", file_name.translate(_PLAIN))
    plain = plain.encode("ascii", "ignore").decode()
    plain = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in plain).strip("-")
    fallback = plain if plain and plain != ".pdf" else "download"
    if fallback == file_name:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
