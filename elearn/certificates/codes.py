"""Verification codes: random, easy to read aloud and to type back in.

Codes use Crockford's base 32 alphabet, which has no I, L, O or U, so nothing printed can be
mistaken for something else. When a person types a code, the letters O, I and L are read as
the digits 0, 1 and 1, which is almost certainly what they meant.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUP_SIZE = 4
GROUPS = 7
LENGTH = GROUP_SIZE * GROUPS
BITS = LENGTH * 5  # 140 bits of randomness

_CONFUSIONS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212_.]+")
_VALID = frozenset(ALPHABET)


def _group(plain: str) -> str:
    return "-".join(plain[i : i + GROUP_SIZE] for i in range(0, len(plain), GROUP_SIZE))


def new_code() -> str:
    """A fresh code in display form, e.g. 7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEG."""
    number = secrets.randbits(BITS)
    digits = [ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(LENGTH))]
    return _group("".join(digits))


def normalise(text: str) -> str | None:
    """The display form of a code as a person typed it, or None if it cannot be a code.

    Any case is accepted, with or without spaces or hyphens between the characters.
    """
    plain = _SEPARATORS.sub("", text).upper().translate(_CONFUSIONS)
    if len(plain) != LENGTH or not _VALID.issuperset(plain):
        return None
    return _group(plain)
