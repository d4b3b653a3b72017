"""Verification codes: random enough, and forgiving of how people type them."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from elearn.certificates import codes

DISPLAY = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}$")


def test_new_codes_are_grouped_upper_case_and_unambiguous() -> None:
    for _ in range(200):
        code = codes.new_code()
        assert DISPLAY.match(code), code
        assert not set(code) & set("ILOU")


def test_new_codes_do_not_repeat() -> None:
    assert len({codes.new_code() for _ in range(5000)}) == 5000


def test_a_code_carries_at_least_128_bits() -> None:
    assert codes.LENGTH * 5 >= 128
    assert len(codes.ALPHABET) == 32


@given(st.builds(lambda _: codes.new_code(), st.integers()))
def test_normalise_gives_back_the_display_form(code: str) -> None:
    assert codes.normalise(code) == code


@given(
    st.builds(lambda _: codes.new_code(), st.integers()),
    st.sampled_from(["", " ", "-", "  ", " - "]),
    st.booleans(),
)
def test_normalise_accepts_any_case_and_separators(code: str, separator: str, lower: bool) -> None:
    typed = separator.join(code.replace("-", ""))
    typed = typed.lower() if lower else typed
    assert codes.normalise(typed) == code


def test_letters_mistaken_for_digits_are_read_as_the_digits() -> None:
    assert codes.normalise("7K3M 9QXR 4TWB HN2C 8FJD 5VPA 6YEO") == (
        "7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YE0"
    )
    assert codes.normalise("iK3M-lQXR-4TWB-HN2C-8FJD-5VPA-6YEG") == (
        "1K3M-1QXR-4TWB-HN2C-8FJD-5VPA-6YEG"
    )


@given(st.text(max_size=40))
def test_normalise_never_fails_and_only_returns_valid_codes(text: str) -> None:
    result = codes.normalise(text)
    assert result is None or DISPLAY.match(result)


def test_wrong_length_or_characters_are_not_codes() -> None:
    assert codes.normalise("7K3M-9QXR-4TWB-HN2C-8FJD-5VPA") is None
    assert codes.normalise("7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEGG") is None
    assert codes.normalise("7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEU") is None
    assert codes.normalise("7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YE!") is None
    assert codes.normalise("") is None
