"""Cells a spreadsheet would run as a formula, and how to make them plain text."""

from __future__ import annotations

import unicodedata

# A cell starting with one of these (after any invisible characters) is run as a formula, or
# as a DDE command ("|"), by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "|", "\t", "\r", "\n")


def _visible_start(text: str) -> str:
    """The text without the invisible characters a spreadsheet skips: format characters
    (zero-width space and joiners, the byte order mark, direction marks) and spaces."""
    at = 0
    while at < len(text) and (unicodedata.category(text[at]) == "Cf" or text[at] in " \u00a0"):
        at += 1
    return text[at:]


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet might run this cell as a formula."""
    return text.startswith(FORMULA_START) or _visible_start(text).startswith(FORMULA_START)


def safe_cell(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs: risky ones get a leading apostrophe."""
    return "'" + text if looks_like_formula(text) else text
