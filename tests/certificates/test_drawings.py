"""Certificates already issued keep passing the offline check whatever changes later.

The check draws a certificate again from its signed data and requires the same page, so the
drawing a certificate names must draw exactly what it drew when the certificate was issued.
The files under drawings/ were issued by each drawing when it was new; if one of these tests
fails, a change to the layout, wording, shaping or fonts would invalidate certificates people
hold. Keep the old drawing as it was and add a new one (elearn.certificates.pdf.DRAWINGS).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from elearn.certificates import pdf, signing
from elearn.certificates.check import check_pdf
from elearn.certificates.data import canonical_bytes, from_canonical
from elearn.certificates.signing import PublishedKey
from tests.certificates.conftest import LEICS, make_data

HERE = Path(__file__).resolve().parent / "drawings"
KEPT = sorted(HERE.glob("drawing-*/*.pdf"))


def _keys(folder: Path) -> dict[str, PublishedKey]:
    public = signing.load_public_key((folder / "public-key.txt").read_text().strip())
    return {signing.key_id(public): PublishedKey("leicestershire", LEICS, public)}


def test_every_drawing_has_certificates_kept() -> None:
    drawings = {int(p.parent.name.removeprefix("drawing-")) for p in KEPT}
    assert drawings == set(pdf.DRAWINGS), "add certificates of a new drawing with drawings/make.py"
    assert max(pdf.DRAWINGS) == pdf.DRAWING


@pytest.mark.parametrize("kept", KEPT, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_certificate_issued_by_each_drawing_still_checks(kept: Path) -> None:
    result = check_pdf(kept.read_bytes(), _keys(kept.parent))
    assert result.problems == [], (
        f"{kept.name}, issued by {kept.parent.name}, no longer passes the offline check: the "
        "drawing has changed. Restore it and add a new drawing instead."
    )
    assert result.ok and result.data is not None
    assert result.data.drawing == int(kept.parent.name.removeprefix("drawing-"))


def test_drawing_1_is_not_written_in_the_signed_bytes() -> None:
    first = make_data(drawing=1)
    assert b"drawing" not in canonical_bytes(first)
    later = make_data(drawing=2)
    assert b'"drawing":2' in canonical_bytes(later)
    assert from_canonical(canonical_bytes(later)).drawing == 2
    written_out = canonical_bytes(first).replace(b'"format":1', b'"drawing":1,"format":1')
    with pytest.raises(ValueError, match="drawing number"):
        from_canonical(written_out)


def test_a_drawing_this_version_does_not_know_is_named_not_misreported() -> None:
    key = signing.load_private_key(signing.generate_private_key_text())
    shown = make_data()
    newer = dataclasses.replace(shown, drawing=max(pdf.DRAWINGS) + 1)
    page = pdf.render_unchecked(shown, signing.sign(newer, key))
    public = key.public_key()
    result = check_pdf(
        page, {signing.key_id(public): PublishedKey("leicestershire", LEICS, public)}
    )
    assert not result.ok
    assert result.problems == [
        "This certificate was drawn by a newer version of the service than this check knows, "
        "so its page cannot be compared: check it on the issuer's website, or with an "
        "up-to-date copy of the check."
    ]
