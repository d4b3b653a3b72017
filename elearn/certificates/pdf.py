"""The certificate PDF: certificate data and its signature in, PDF bytes out.

Pure: no database, no network, no files besides the fonts. The same input always gives the
same bytes. The signed data travels inside the PDF as the attachment certificate.json, so a
certificate can be checked offline (see check.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import math
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reportlab
import segno
from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.pathobject import PDFPathObject

from elearn.certificates import shaping
from elearn.certificates.data import CertificateData, canonical_bytes
from elearn.certificates.glyphs import GlyphFonts
from elearn.certificates.signing import Signed

ATTACHMENT_NAME = "certificate.json"
LANGUAGE = "en-GB"

HEADING = "CERTIFICATE OF COMPLETION"
BEFORE_NAME = "This is to certify that"
BEFORE_COURSE = "has completed"
TRACK_LABEL = "Track: "
COMPLETED_LABEL = "Completed on "
CPD_SUFFIX = " of CPD"
SEPARATOR = " \u00b7 "
LEVEL_LABEL = "Practice level: "
LEVEL_SUFFIX = " (NHS Education for Scotland trauma framework)"
CODE_LABEL = "Verification code"
VISIT_LABEL = "To check this certificate, scan the QR code or visit"

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
CENTRE_X = PAGE_WIDTH / 2
BODY_WIDTH = 650.0
MARGIN = 70.0

INK = HexColor("#1f2a33")
MUTED = HexColor("#5a6670")
TEAL = HexColor("#2f6b6b")
SAND = HexColor("#b3925c")
PALE_TEAL = HexColor("#dbe7e5")

_MODULE_LINES = 3
_QR_MODULE = 2.3  # points per QR module: about 0.8 mm, easy for a phone camera
_RENDER_LOCK = threading.Lock()


def date_text(day: dt.date) -> str:
    """A date as printed on the certificate, e.g. 24 November 2026."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def cpd_text(minutes: int) -> str:
    """CPD time as printed, e.g. 5 hours 30 minutes of CPD."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts) + CPD_SUFFIX


def level_text(level: str) -> str:
    """The practice level line, naming the framework it comes from."""
    return f"{LEVEL_LABEL}{level}{LEVEL_SUFFIX}"


def _uk_date(moment: dt.datetime) -> dt.date:
    """The day it was in the UK at that moment (UTC where time zone data is missing)."""
    try:
        return moment.astimezone(ZoneInfo("Europe/London")).date()
    except ZoneInfoNotFoundError:
        return moment.astimezone(dt.UTC).date()


def _joined(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# Fonts ------------------------------------------------------------------------------------

_REPORTLAB_FONTS = Path(reportlab.__file__).parent / "fonts"
_OWN_FONTS = Path(__file__).parent / "fonts"
REGULAR, BOLD, ITALIC = "CertificateSans", "CertificateSans-Bold", "CertificateSans-Italic"
_FONT_FILES = {
    REGULAR: _REPORTLAB_FONTS / "Vera.ttf",
    BOLD: _REPORTLAB_FONTS / "VeraBd.ttf",
    ITALIC: _REPORTLAB_FONTS / "VeraIt.ttf",
    "CertificateSansWide": _OWN_FONTS / "DejaVuSans.ttf",
    "CertificateSansWide-Bold": _OWN_FONTS / "DejaVuSans-Bold.ttf",
}
# DejaVu is Vera with many more letters; it is used only for text that Vera cannot show.
# The italic is used only for the fixed phrases BEFORE_NAME and BEFORE_COURSE.
_WIDER = {
    REGULAR: "CertificateSansWide",
    BOLD: "CertificateSansWide-Bold",
    ITALIC: "CertificateSansWide",
}


@functools.lru_cache(maxsize=256)
def _font_program(face: TTFontFace, subset: tuple[int, ...]) -> tuple[bytes, int]:
    raw = face.makeSubset(list(subset))
    return zlib.compress(raw), len(raw)


class _Width(float, pdfdoc.PDFObject):
    """A glyph width that is a plain number to Python and writes its PDF form from a cache."""

    def __new__(cls, value: float) -> _Width:
        width = super().__new__(cls, value)
        width._pdf = pdfdoc.format(float(value), None)
        return width

    def format(self, document: object) -> bytes:
        """The number as reportlab writes it, formatted once rather than per document."""
        return self._pdf


class _SubsetCachingFace(TTFontFace):
    """A TrueType face that reuses compressed font subsets and glyph widths across documents.

    Subsetting and compressing a font, and formatting its widths, are most of the cost of a
    certificate; the subsets of most certificates are the same (ASCII, plus a few accented
    letters), so they are kept.
    """

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self._widths: dict[int, _Width] = {}

    def getCharWidth(self, code: int) -> float:  # noqa: N802 - the name reportlab calls
        """The width of a character, as a number that formats itself quickly."""
        width = self._widths.get(code)
        if width is None:
            width = self._widths[code] = _Width(super().getCharWidth(code))
        return width

    def addSubsetObjects(  # noqa: N802 - the name reportlab calls
        self, doc: pdfdoc.PDFDocument, fontname: str, subset: list[int]
    ) -> pdfdoc.PDFObjectReference:
        """Add one subset of the font to a document, from the cache when it is there."""
        content, length = _font_program(self, tuple(subset))
        font_file = pdfdoc.PDFStream(content=content)
        font_file.dictionary["Length1"] = length
        font_file.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        font_file_ref = doc.Reference(font_file, f"fontFile:{self.filename}({fontname})")
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "Ascent": self.ascent,
                "CapHeight": self.capHeight,
                "Descent": self.descent,
                "Flags": (self.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                "FontBBox": pdfdoc.PDFArray(self.bbox),
                "FontName": pdfdoc.PDFName(fontname),
                "ItalicAngle": self.italicAngle,
                "StemV": self.stemV,
                "FontFile2": font_file_ref,
                "MissingWidth": self.defaultWidth,
            }
        )
        return doc.Reference(descriptor, "fontDescriptor:" + fontname)


class _CertificateFont(TTFont):
    """A TrueType font embedded as cached subsets.

    Fonts that show any text keep all of ASCII in their first subset, so that subset is the
    same from one certificate to the next; a font kept for fixed phrases holds only their
    letters, which keeps the PDF small.
    """

    def __init__(self, name: str, filename: Path, *, fixed_text_only: bool) -> None:
        super().__init__(name, str(filename), asciiReadable=not fixed_text_only)
        self.face = _SubsetCachingFace(str(filename))


@functools.cache
def _font(name: str) -> TTFont:
    font = _CertificateFont(name, _FONT_FILES[name], fixed_text_only=name == ITALIC)
    pdfmetrics.registerFont(font)
    return font


def _covers(name: str, text: str) -> bool:
    glyphs = _font(name).face.charToGlyph
    return all(ord(char) in glyphs for char in text)


def _font_for(text: str, name: str) -> str:
    """The preferred font if it can show every character of text, else its wider cousin."""
    if _covers(name, text) or not _covers(_WIDER[name], text):
        return name
    return _WIDER[name]


def _shaping_font(name: str) -> shaping.ShapingFont:
    """The font a shaped line starts from: DejaVu, in the weight of the line."""
    return shaping.font(_FONT_FILES[_WIDER[name]])


def _needs_shaping(text: str, name: str) -> bool:
    """Whether text needs the shaping engine: a script other than Latin, Greek or Cyrillic,
    or a letter the main fonts lack."""
    return not _covers(_WIDER[name], text) or not all(shaping.is_simple(c) for c in text)


def unsupported_characters(text: str) -> str:
    """Characters of text that no certificate font can show (they would print as boxes)."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if not _needs_shaping(text, BOLD):
        return ""
    return shaping.shape(text, _shaping_font(BOLD)).missing()


# Drawing ----------------------------------------------------------------------------------


def _fitted(text: str, font: str, size: float, width: float) -> float:
    """The font size, reduced if needed so that text fits the width."""
    natural = pdfmetrics.stringWidth(text, font, size)
    return size if natural <= width else size * width / natural


def _line(
    c: Canvas,
    text: str,
    y: float,
    *,
    font: str = REGULAR,
    size: float,
    colour: Color = INK,
    x: float | None = None,
    width: float = BODY_WIDTH,
) -> None:
    """One line of text, centred unless x is given, shrunk to fit its width."""
    text = unicodedata.normalize("NFC", text)
    if isinstance(c, _CertificateCanvas) and _needs_shaping(text, font):
        shaped = shaping.shape(text, _shaping_font(font))
        natural = shaped.width * size / 1000
        fitted = size if natural <= width else size * width / natural
        left = CENTRE_X - shaped.width * fitted / 2000 if x is None else x
        c.setFillColor(colour)
        c.glyph_fonts.draw(c, shaped, left, y, fitted)
        return
    font = _font_for(text, font)
    c.setFont(font, _fitted(text, font, size, width))
    c.setFillColor(colour)
    if x is None:
        c.drawCentredString(CENTRE_X, y, text)
    else:
        c.drawString(x, y, text)


class _CertificateCanvas(Canvas):
    """A canvas that also draws shaped lines, with the fonts they need."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.glyph_fonts = GlyphFonts()


class _FixedPath:
    """A path whose PDF operators were worked out once and are drawn as they are."""

    def __init__(self, code: str) -> None:
        self._code = code

    def getCode(self) -> str:  # noqa: N802 - the name reportlab's drawPath calls
        """The path's operators, as reportlab's own path objects give them."""
        return self._code


def _module_path(matrix: Sequence[Sequence[int]]) -> _FixedPath:
    """The dark modules of a QR code as one PDF path, one rectangle per run of modules."""
    ops = []
    size = len(matrix)
    for row_number, row in enumerate(matrix):
        y = size - 1 - row_number
        x = 0
        while x < size:
            if row[x] & 1:
                start = x
                while x < size and row[x] & 1:
                    x += 1
                ops.append(f"{start} {y} {x - start} 1 re")
            else:
                x += 1
    return _FixedPath(" ".join(ops))


def _draw_qr(c: Canvas, url: str, right: float, bottom: float) -> None:
    matrix = segno.make(url, error="m", micro=False, mask=0).matrix
    size = len(matrix) * _QR_MODULE
    c.saveState()
    c.setFillColor(INK)
    c.transform(_QR_MODULE, 0, 0, _QR_MODULE, right - size, bottom)
    c.drawPath(_module_path(matrix), stroke=0, fill=1)
    c.restoreState()


def _draw_frame(c: Canvas) -> None:
    c.setStrokeColor(TEAL)
    c.setLineWidth(1.6)
    c.rect(22, 22, PAGE_WIDTH - 44, PAGE_HEIGHT - 44)
    c.setStrokeColor(SAND)
    c.setLineWidth(0.6)
    c.rect(29, 29, PAGE_WIDTH - 58, PAGE_HEIGHT - 58)


@functools.cache
def _emblem() -> tuple[tuple[Color, _FixedPath], ...]:
    """Six small circles round a centre: the six principles of trauma-informed practice.

    Drawn at the origin in three colours; built once, as the curves are costly to format.
    """
    disc, sand, teal = (PDFPathObject() for _ in range(3))
    disc.circle(0, 0, 25)
    for number in range(6):
        angle = math.radians(90 + 60 * number)
        (teal if number % 2 else sand).circle(14 * math.cos(angle), 14 * math.sin(angle), 4.2)
    teal.circle(0, 0, 5.5)
    paths = ((PALE_TEAL, disc), (SAND, sand), (TEAL, teal))
    return tuple((colour, _FixedPath(path.getCode())) for colour, path in paths)


def _draw_emblem(c: Canvas, x: float, y: float) -> None:
    c.saveState()
    c.translate(x, y)
    for colour, path in _emblem():
        c.setFillColor(colour)
        c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


def _module_lines(items: Sequence[str], font: str, size: float) -> list[str]:
    """Items joined by separators into lines no wider than the body, breaking between items."""
    lines: list[str] = []
    current = "Modules completed: "
    for number, item in enumerate(items):
        candidate = current + (SEPARATOR if number else "") + item
        if number and pdfmetrics.stringWidth(candidate, font, size) > BODY_WIDTH:
            lines.append(current)
            current = item
        else:
            current = candidate
    return [*lines, current]


def _fit_modules(items: list[str], font: str) -> tuple[list[str], float]:
    """Lines and size for the module list: smaller type first, then "and N more" if need be."""
    for size in (8.0, 7.5, 7.0, 6.5):
        lines = _module_lines(items, font, size)
        if len(lines) <= _MODULE_LINES and not any(_too_wide(x, font, size) for x in lines):
            return lines, size
    for shown in range(len(items) - 1, 0, -1):
        rest = f"and {len(items) - shown} more, listed on the verification page"
        lines = _module_lines([*items[:shown], rest], font, size)
        if len(lines) <= _MODULE_LINES and not any(_too_wide(x, font, size) for x in lines):
            return lines, size
    return lines, size


def _draw_modules(c: Canvas, data: CertificateData, top: float) -> None:
    """The modules and their versions, in small type, in at most three lines."""
    if not data.modules:
        return
    items = [f"{m.title} (version {m.version})" for m in data.modules]
    font = _font_for("".join(items), REGULAR)
    lines, size = _fit_modules(items, font)
    c.setFont(font, size)
    c.setFillColor(MUTED)
    for number, line in enumerate(lines):
        c.drawCentredString(CENTRE_X, top - number * size * 1.4, line)


def _too_wide(text: str, font: str, size: float) -> bool:
    return pdfmetrics.stringWidth(text, font, size) > BODY_WIDTH


def _draw_body(c: Canvas, data: CertificateData) -> None:
    _line(c, HEADING, PAGE_HEIGHT - 140, font=BOLD, size=11, colour=TEAL)
    _line(c, BEFORE_NAME, PAGE_HEIGHT - 172, font=ITALIC, size=12, colour=MUTED)
    _line(c, data.holder_name, PAGE_HEIGHT - 212, font=BOLD, size=30)
    c.setStrokeColor(SAND)
    c.setLineWidth(0.8)
    c.line(CENTRE_X - 90, PAGE_HEIGHT - 228, CENTRE_X + 90, PAGE_HEIGHT - 228)
    _line(c, BEFORE_COURSE, PAGE_HEIGHT - 254, font=ITALIC, size=12, colour=MUTED)
    _line(c, data.course_title, PAGE_HEIGHT - 284, size=20, colour=TEAL)
    _line(c, TRACK_LABEL + data.track_title, PAGE_HEIGHT - 308, size=13)
    details = (
        COMPLETED_LABEL + date_text(data.completed_on) + SEPARATOR + cpd_text(data.cpd_minutes)
    )
    _line(c, details, PAGE_HEIGHT - 340, size=11)
    if data.nes_level:
        _line(c, level_text(data.nes_level), PAGE_HEIGHT - 357, size=9, colour=MUTED)
    _draw_modules(c, data, PAGE_HEIGHT - 380)


def _draw_issuers(c: Canvas, data: CertificateData) -> None:
    awarded = "Awarded jointly by " + _joined(data.partners)
    _line(c, awarded, 176, size=9.5)
    issued = f"Issued by {data.issuer_name} on {date_text(_uk_date(data.issued_at))}"
    if data.supersedes:
        issued += f", replacing certificate {data.supersedes}"
    _line(c, issued, 162, size=8.5, colour=MUTED)


def _draw_verification(c: Canvas, data: CertificateData) -> None:
    text_width = PAGE_WIDTH - 2 * MARGIN - 140
    c.setStrokeColor(PALE_TEAL)
    c.setLineWidth(0.8)
    c.line(MARGIN, 146, PAGE_WIDTH - MARGIN, 146)
    _line(c, CODE_LABEL, 118, size=8.5, colour=MUTED, x=MARGIN, width=text_width)
    _line(c, data.code, 96, font=BOLD, size=18, colour=INK, x=MARGIN, width=text_width)
    _line(c, VISIT_LABEL, 76, size=8.5, colour=MUTED, x=MARGIN, width=text_width)
    _line(c, data.verify_url, 63, size=8.5, colour=TEAL, x=MARGIN, width=text_width)
    _draw_qr(c, data.verify_url, right=PAGE_WIDTH - MARGIN, bottom=52)


def _attach(c: Canvas, name: str, content: bytes, description: str) -> None:
    """Embed a file in the document, as an attachment any PDF reader can list."""
    stream = pdfdoc.PDFStream(content=content, filters=[pdfdoc.PDFZCompress])
    stream.dictionary["Type"] = "/EmbeddedFile"
    stream.dictionary["Subtype"] = "/application#2Fjson"
    stream.dictionary["Params"] = pdfdoc.PDFDictionary({"Size": len(content)})
    filespec = pdfdoc.PDFDictionary(
        {
            "Type": "/Filespec",
            "F": pdfdoc.PDFString(name),
            "UF": pdfdoc.PDFString(name),
            "Desc": pdfdoc.PDFString(description),
            "AFRelationship": "/Data",
            "EF": pdfdoc.PDFDictionary({"F": stream}),
        }
    )
    names = pdfdoc.PDFArray([pdfdoc.PDFString(name), filespec])
    tree = pdfdoc.PDFDictionary({"Names": names})
    c.setCatalogEntry("Names", pdfdoc.PDFDictionary({"EmbeddedFiles": tree}))


def _describe(c: Canvas, data: CertificateData) -> None:
    c.setTitle(f"Certificate: {data.holder_name}, {data.course_title} ({data.track_title})")
    c.setAuthor(data.issuer_name)
    c.setSubject(
        f"{data.course_title}, {data.track_title}: completed on {date_text(data.completed_on)}"
        f" by {data.holder_name}. Verification code {data.code}."
    )
    c.setKeywords(["certificate", "trauma-informed practice", data.code])
    c.setCreator("Trauma-informed practice learning")
    c.setViewerPreference("DisplayDocTitle", "true")


@contextlib.contextmanager
def _binary_streams() -> Iterator[None]:
    """Page streams compressed only, not also ASCII85-encoded (smaller and faster)."""
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def _drawing_1(c: Canvas, data: CertificateData) -> None:
    """The page as certificates have been drawn since they were first issued."""
    _draw_frame(c)
    _draw_emblem(c, CENTRE_X, PAGE_HEIGHT - 86)
    _draw_body(c, data)
    _draw_issuers(c, data)
    _draw_verification(c, data)


DRAWINGS: dict[int, Callable[[Canvas, CertificateData], None]] = {1: _drawing_1}
"""Every page layout certificates have been drawn with, by number. The offline check draws a
certificate again with the drawing it names and requires the very same page, so a drawing
never changes once certificates carry it: a new layout, wording or font set is a new drawing
(its own function, and fonts in a folder of their own), DRAWING becomes its number and the
older ones stay. tests/certificates/test_drawings.py holds certificates of each drawing and
fails when one would no longer be drawn the same."""

DRAWING = 1
"""The drawing new certificates are issued with."""


class UnknownDrawing(ValueError):
    """A certificate names a drawing this version of the service does not have."""


def render_unchecked(visible: CertificateData, signed: Signed) -> bytes:
    """Draw `visible` on the page and embed `signed` as it is, without comparing the two.

    Only for tests of the checker, which need a page that differs from its signed data.
    """
    draw = DRAWINGS.get(visible.drawing)
    if draw is None:
        raise UnknownDrawing(f"drawing {visible.drawing} is not known to this version")
    buffer = io.BytesIO()
    with _RENDER_LOCK, _binary_streams():
        c = _CertificateCanvas(
            buffer,
            pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
            invariant=1,
            lang=LANGUAGE,
            pageCompression=1,
            initialFontName=_font(REGULAR).fontName,
            initialFontSize=10,
        )
        _describe(c, visible)
        draw(c, visible)
        _attach(c, ATTACHMENT_NAME, signed.to_json(), "Signed certificate data")
        c.showPage()
        c.glyph_fonts.add_to(c)
        c.save()
    return buffer.getvalue()


def render(data: CertificateData, signed: Signed) -> bytes:
    """The certificate as an A4 landscape PDF carrying its own signed data."""
    if signed.payload != canonical_bytes(data):
        raise ValueError("the signed data is not the data of this certificate")
    return render_unchecked(data, signed)
