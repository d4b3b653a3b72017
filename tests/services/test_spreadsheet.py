"""Cells a spreadsheet would run are shown as text; invitations stay within a partnership."""

from __future__ import annotations

import pytest

from elearn.services.spreadsheet import looks_like_formula, safe_cell


@pytest.mark.parametrize(
    "cell",
    [
        "=SUM(A1)",
        "+44 115",
        "-1",
        "@cmd",
        "|calc",
        "\t=1",
        "\r=1",
        '\u200b=HYPERLINK("http://x")',
        "\ufeff=1",
        "\u200d\u2060+1",
        " =1",
        "\u202e|cmd",
    ],
)
def test_formula_like_cells_are_neutralised(cell: str) -> None:
    assert looks_like_formula(cell)
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Sam Learner", "O'Neil", "", "100%", "a=b", "Zoë – team"])
def test_plain_cells_are_left_alone(cell: str) -> None:
    assert not looks_like_formula(cell)
    assert safe_cell(cell) == cell
