"""The certificate PDF: what a reader sees, what software reads, and the QR code."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import cast

import pymupdf
import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from elearn.certificates import codes, pdf, signing
from elearn.certificates.data import CertificateData, ModuleRecord

from .conftest import LEICS, NOTTS, make_data

LONG_NAME = "Maria-Fernanda Gwenllian Llewellyn-Featherstonehaugh Ó Súilleabháin-Worthington"
LONG_TRACK = (
    "Trauma-informed practice for youth justice, youth offending teams, secure settings "
    "and the voluntary organisations who work alongside them"
)


def render(data: CertificateData, key: Ed25519PrivateKey) -> bytes:
    return pdf.render(data, signing.sign(data, key))


def page_text(document: bytes) -> str:
    return PdfReader(io.BytesIO(document)).pages[0].extract_text()


def decode_qr(document: bytes) -> list[str]:
    """The QR codes a phone would read from the printed page, at 150 dpi."""
    page = pymupdf.open(stream=document, filetype="pdf")[0]
    pixmap = page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY, alpha=False)
    image = memoryview(pixmap.samples).cast("B", (pixmap.height, pixmap.width))
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def text_boxes(document: bytes) -> list[tuple[str, pymupdf.Rect]]:
    """Each line of text on the page with the box it occupies."""
    page = pymupdf.open(stream=document, filetype="pdf")[0]
    found = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            text = "".join(span["text"] for span in line["spans"])
            found.append((text, pymupdf.Rect(line["bbox"])))
    return found


def test_the_page_is_a4_landscape(certificate_pdf: bytes) -> None:
    box = PdfReader(io.BytesIO(certificate_pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)


def test_the_page_shows_what_was_certified(certificate_pdf: bytes) -> None:
    text = page_text(certificate_pdf)
    for expected in (
        "Siobhán O’Connor-Whitfield",
        "Trauma-informed practice",
        "Track: Trauma-informed practice for youth justice",
        "Completed on 24 November 2026",
        "5 hours 30 minutes of CPD",
        "Practice level: Trauma-informed",
        "Understanding trauma (version 2)",
        "Child First youth justice (version 2)",
        f"Awarded jointly by {NOTTS} and {LEICS}",
        f"Issued by {LEICS} on 24 November 2026",
        "7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEG",
        "https://learning.example.org.uk/verify/7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEG",
    ):
        assert expected in text


def test_the_document_describes_itself(certificate_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(certificate_pdf))
    meta = reader.metadata
    assert meta is not None
    assert meta.title == (
        "Certificate: Siobhán O’Connor-Whitfield, Trauma-informed practice "
        "(Trauma-informed practice for youth justice)"
    )
    assert meta.author == LEICS
    assert meta.subject is not None and "completed on 24 November 2026" in meta.subject
    assert reader.root_object["/Lang"] == "en-GB"


def test_every_font_is_embedded(certificate_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(certificate_pdf))
    resources = cast(DictionaryObject, reader.pages[0]["/Resources"])
    fonts = cast(DictionaryObject, resources["/Font"])
    assert len(fonts) >= 2
    for font in fonts.values():
        descriptor = cast(DictionaryObject, font.get_object())["/FontDescriptor"]
        assert "/FontFile2" in cast(DictionaryObject, descriptor)


def test_the_qr_code_opens_the_verification_page(certificate_pdf: bytes) -> None:
    assert decode_qr(certificate_pdf) == [
        "https://learning.example.org.uk/verify/7K3M-9QXR-4TWB-HN2C-8FJD-5VPA-6YEG"
    ]


def test_qr_codes_of_other_certificates_read_too(private_key: Ed25519PrivateKey) -> None:
    for _ in range(5):
        code = codes.new_code()
        url = f"https://training.example.gov.uk/certificates/verify/{code}"
        # The page's QR code carries the address (the reader may also pick up printed text).
        assert url in decode_qr(render(make_data(code=code, verify_url=url), private_key))


def test_the_signed_data_travels_inside_the_pdf(
    certificate_pdf: bytes, signed: signing.Signed
) -> None:
    attachments = PdfReader(io.BytesIO(certificate_pdf)).attachments
    assert attachments["certificate.json"] == [signed.to_json()]


def test_the_same_certificate_always_gives_the_same_bytes(
    data: CertificateData, signed: signing.Signed, private_key: Ed25519PrivateKey
) -> None:
    first = pdf.render(data, signed)
    render(make_data(holder_name="Dŵr Llŷr Ó Brádaigh", code=codes.new_code()), private_key)
    assert pdf.render(data, signed) == first


def test_rendering_refuses_a_signature_for_other_data(
    signed: signing.Signed, private_key: Ed25519PrivateKey
) -> None:
    with pytest.raises(ValueError, match="not the data of this certificate"):
        pdf.render(make_data(holder_name="Someone Else"), signed)


@pytest.mark.parametrize(
    "name",
    [
        "Siobhán O’Connor-Whitfield",
        "Llŷr Gwŵn ap Dafydd",
        "Małgorzata Woźniak-Żółtowska",
        "Paweł Kraśnicki",
        "Ștefan Țărănescu",
        "Zoë d’Arcy-Nguyễn",
        "Anne-Marie O'Brien",
    ],
)
def test_names_in_any_european_spelling_print_as_written(
    name: str, private_key: Ed25519PrivateKey
) -> None:
    assert pdf.unsupported_characters(name) == ""
    lines = page_text(render(make_data(holder_name=name), private_key)).splitlines()
    assert name in [line.strip() for line in lines]


def test_long_names_and_titles_fit_inside_the_border_without_overlapping(
    private_key: Ed25519PrivateKey,
) -> None:
    data = make_data(holder_name=LONG_NAME, track_title=LONG_TRACK, course_title=LONG_TRACK)
    boxes = text_boxes(render(data, private_key))
    inner = pymupdf.Rect(29, 29, 842 - 29, 595 - 29)
    assert any(LONG_NAME in text for text, _ in boxes)
    for text, box in boxes:
        assert inner.contains(box), f"{text!r} runs outside the border"
    for number, (text, box) in enumerate(boxes):
        for other, other_box in boxes[number + 1 :]:
            overlap = box & other_box
            assert overlap.is_empty or overlap.height < 1, f"{text!r} overlaps {other!r}"


def test_a_long_list_of_modules_stays_readable(private_key: Ed25519PrivateKey) -> None:
    modules = tuple(
        ModuleRecord(f"module-{n}", f"A module with a fairly long title, number {n}", "12")
        for n in range(30)
    )
    document = render(make_data(modules=modules), private_key)
    text = page_text(document)
    assert "A module with a fairly long title, number 0 (version 12)" in text
    assert re.search(r"and \d+ more, listed on the verification page", text)
    page = pymupdf.open(stream=document, filetype="pdf")[0]
    sizes = [
        span["size"]
        for block in page.get_text("dict")["blocks"]
        for line in block.get("lines", [])
        for span in line["spans"]
    ]
    assert min(sizes) >= 6.5


@pytest.mark.parametrize(
    ("minutes", "printed"),
    [
        (330, "5 hours 30 minutes of CPD"),
        (60, "1 hour of CPD"),
        (61, "1 hour 1 minute of CPD"),
        (45, "45 minutes of CPD"),
        (120, "2 hours of CPD"),
    ],
)
def test_cpd_time_reads_naturally(minutes: int, printed: str) -> None:
    assert pdf.cpd_text(minutes) == printed


def test_dates_are_written_out() -> None:
    assert pdf.date_text(dt.date(2026, 11, 24)) == "24 November 2026"
    assert pdf.date_text(dt.date(2027, 1, 3)) == "3 January 2027"


def test_no_practice_level_is_printed_when_none_was_certified(
    private_key: Ed25519PrivateKey,
) -> None:
    assert "Practice level" not in page_text(render(make_data(nes_level=None), private_key))


def test_the_issue_date_is_the_day_it_was_in_the_uk(private_key: Ed25519PrivateKey) -> None:
    late_summer_evening = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)  # 00:30 on 2 July, BST
    text = page_text(render(make_data(issued_at=late_summer_evening), private_key))
    assert "on 2 July 2026" in text


def test_a_name_typed_with_separate_accents_prints_as_composed_letters(
    private_key: Ed25519PrivateKey,
) -> None:
    text = page_text(render(make_data(holder_name="Siobha\u0301n Murphy"), private_key))
    assert "Siobhán Murphy" in text


def test_no_module_line_is_printed_without_modules(private_key: Ed25519PrivateKey) -> None:
    assert "Modules completed" not in page_text(render(make_data(modules=()), private_key))
