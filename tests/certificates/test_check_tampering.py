"""A genuine certificate altered with PDF tools is refused, saying what was altered; saved
again unchanged, it still passes."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import pymupdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, RectangleObject, TextStringObject

from elearn.certificates import signing
from elearn.certificates.check import check_pdf
from elearn.certificates.data import CertificateData
from elearn.certificates.signing import PublishedKey

from .conftest import LEICS, NOTTS

Keys = dict[str, PublishedKey]
DRAWING = "The page's drawing differs from what the signed data gives."


@pytest.fixture(scope="session")
def public_keys(private_key: Ed25519PrivateKey) -> Keys:
    """The published keys a checker trusts: the issuing partnership's, bound to it."""
    return signing.trusted_keys([PublishedKey("leicestershire", LEICS, private_key.public_key())])


def _with_mupdf(original: bytes, change: Callable[[pymupdf.Page], None]) -> bytes:
    document = pymupdf.open(stream=original, filetype="pdf")
    change(document[0])
    return document.tobytes()


def _with_pypdf(original: bytes, change: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(original)))
    change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _cover(page: pymupdf.Page, shown: str, instead: str) -> None:
    """A white box over the words shown on the page, and other words written on it."""
    [area] = page.search_for(shown)[:1]
    page.draw_rect(area, color=(1, 1, 1), fill=(1, 1, 1))
    page.insert_text((area.x0, area.y1 - 2), instead, fontsize=area.height * 0.7)


# Saved again unchanged ----------------------------------------------------------------


def test_a_certificate_saved_again_by_pypdf_still_passes(
    certificate_pdf: bytes, public_keys: Keys, data: CertificateData
) -> None:
    again = _with_pypdf(certificate_pdf, lambda writer: None)
    assert again != certificate_pdf
    result = check_pdf(again, public_keys)
    assert result.problems == []
    assert result.data == data


def test_a_certificate_recompressed_and_renumbered_still_passes(
    certificate_pdf: bytes, public_keys: Keys
) -> None:
    def recompress(writer: PdfWriter) -> None:
        writer.compress_identical_objects()
        for page in writer.pages:
            page.compress_content_streams(level=1)

    assert check_pdf(_with_pypdf(certificate_pdf, recompress), public_keys).problems == []
    document = pymupdf.open(stream=certificate_pdf, filetype="pdf")
    again = document.tobytes(garbage=4, deflate=True)
    assert check_pdf(again, public_keys).problems == []


# Drawn over ---------------------------------------------------------------------------


def test_a_white_box_and_another_name_over_the_holders_is_refused(
    certificate_pdf: bytes, public_keys: Keys, data: CertificateData
) -> None:
    forged = _with_mupdf(certificate_pdf, lambda page: _cover(page, data.holder_name, "Jane Doe"))
    result = check_pdf(forged, public_keys)
    assert not result.ok
    assert result.problems[0] == DRAWING
    assert any('"Jane Doe"' in p and "does not give" in p for p in result.problems)
    assert result.data == data  # what was really certified, for whoever reads the result


@pytest.mark.parametrize(
    ("shown", "instead"),
    [
        (f"Issued by {LEICS}", f"Issued by {NOTTS}"),
        ("Understanding trauma (version 2)", "Safeguarding leadership (version 4)"),
        ("Awarded jointly by", "Awarded by Greater Manchester Violence Reduction Unit alone"),
        ("24 November 2026", "3 March 2021"),
    ],
)
def test_changed_text_over_the_original_still_in_the_file_is_refused(
    certificate_pdf: bytes, public_keys: Keys, shown: str, instead: str
) -> None:
    forged = _with_mupdf(certificate_pdf, lambda page: _cover(page, shown, instead))
    hidden = PdfReader(io.BytesIO(forged)).pages[0].extract_text()
    assert shown.split()[-1] in hidden  # the original text is still in the file, only covered
    result = check_pdf(forged, public_keys)
    assert not result.ok
    assert DRAWING in result.problems
    first_word = instead.split()[1]
    assert any(first_word in p for p in result.problems), result.problems


def test_a_white_box_alone_hiding_a_line_is_refused(
    certificate_pdf: bytes, public_keys: Keys
) -> None:
    def hide(page: pymupdf.Page) -> None:
        page.draw_rect(page.search_for("Issued by")[0], color=(1, 1, 1), fill=(1, 1, 1))

    assert check_pdf(_with_mupdf(certificate_pdf, hide), public_keys).problems == [DRAWING]


def test_an_image_over_the_page_is_refused(certificate_pdf: bytes, public_keys: Keys) -> None:
    def overlay(page: pymupdf.Page) -> None:
        white = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 8, 8), False)
        white.clear_with(255)
        page.insert_image(pymupdf.Rect(200, 150, 640, 220), pixmap=white)

    result = check_pdf(_with_mupdf(certificate_pdf, overlay), public_keys)
    assert result.problems[0] == DRAWING
    assert any(p.startswith("The page uses an image or drawn object") for p in result.problems)


def test_a_text_box_annotation_over_the_name_is_refused(
    certificate_pdf: bytes, public_keys: Keys
) -> None:
    def annotate(page: pymupdf.Page) -> None:
        page.add_freetext_annot(pymupdf.Rect(200, 150, 640, 200), "Jane Doe", fill_color=(1, 1, 1))

    assert check_pdf(_with_mupdf(certificate_pdf, annotate), public_keys).problems == [
        "The page has annotations over it that the certificate does not (FreeText)."
    ]


# Fonts, pages and the page's frame ------------------------------------------------------


def test_a_replaced_font_is_refused(certificate_pdf: bytes, public_keys: Keys) -> None:
    """Same text, same drawing, but one font's glyphs swapped for another's."""

    def swap(writer: PdfWriter) -> None:
        fonts = writer.pages[0]["/Resources"]["/Font"]
        first, second = (fonts[name]["/FontDescriptor"] for name in sorted(fonts)[:2])
        program = second["/FontFile2"].get_object().get_data()
        first["/FontFile2"].get_object().set_data(program)

    result = check_pdf(_with_pypdf(certificate_pdf, swap), public_keys)
    assert len(result.problems) == 1, result.problems
    assert result.problems[0].startswith("A font on the page was changed (")


def test_an_added_page_is_refused(certificate_pdf: bytes, public_keys: Keys) -> None:
    forged = _with_pypdf(certificate_pdf, lambda writer: writer.add_blank_page())
    assert check_pdf(forged, public_keys).problems == ["The file has an extra page."]


def test_a_page_cropped_through_the_page_tree_is_refused(
    certificate_pdf: bytes, public_keys: Keys
) -> None:
    """A crop box inherited from the page tree hides the foot of the page (issuer, code)."""

    def crop(writer: PdfWriter) -> None:
        pages = writer.root_object["/Pages"].get_object()
        pages[NameObject("/CropBox")] = RectangleObject([0, 200, 842, 595])

    assert check_pdf(_with_pypdf(certificate_pdf, crop), public_keys).problems == [
        "The page shows a different part of itself (crop box) than the certificate."
    ]


def test_a_resized_or_turned_page_is_refused(certificate_pdf: bytes, public_keys: Keys) -> None:
    def resize(writer: PdfWriter) -> None:
        writer.pages[0].mediabox = RectangleObject([0, 0, 595, 842])

    [problem] = check_pdf(_with_pypdf(certificate_pdf, resize), public_keys).problems
    assert problem.startswith("The page size (media box) differs from the certificate's")
    turned = _with_pypdf(certificate_pdf, lambda writer: writer.pages[0].rotate(90))
    assert check_pdf(turned, public_keys).problems == [
        "The page is turned (rotated 90°) unlike the certificate."
    ]


def test_a_script_run_on_opening_is_refused(certificate_pdf: bytes, public_keys: Keys) -> None:
    def script(writer: PdfWriter) -> None:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("this.addAnnot({type: 'FreeText'});"),
            }
        )
        writer.root_object[NameObject("/OpenAction")] = writer._add_object(action)

    assert check_pdf(_with_pypdf(certificate_pdf, script), public_keys).problems == [
        "The file carries something a certificate does not: an action run when the file is opened."
    ]


def test_a_changed_title_is_refused(certificate_pdf: bytes, public_keys: Keys) -> None:
    """The title shows in the viewer's title bar: it must be the certificate's own."""
    forged = _with_pypdf(
        certificate_pdf, lambda writer: writer.add_metadata({"/Title": "Certificate: Jane Doe"})
    )
    assert check_pdf(forged, public_keys).problems == [
        "The file's title differs from the certificate's."
    ]


def test_damage_anywhere_in_the_file_is_a_problem_or_harmless_never_a_crash(
    certificate_pdf: bytes, public_keys: Keys
) -> None:
    rng = random.Random(20261202)
    for _ in range(25):
        damaged = bytearray(certificate_pdf)
        for _ in range(3):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        result = check_pdf(bytes(damaged), public_keys)
        assert result.ok or result.problems
