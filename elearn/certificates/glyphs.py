"""Shaped lines drawn into a PDF by glyph id, with the text kept for copying and checking.

Each font is embedded as a Type 0 font whose codes are numbered per document, one code for
each glyph as it is used (glyph, the text it stands for, its width); the ToUnicode map gives each
code its text, so text extraction returns the characters of the name, and the clusters are
written in the order of the text, so a right-to-left name reads in its own order.
"""

from __future__ import annotations

import functools
import zlib

from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from elearn.certificates.shaping import Line, ShapingFont

_Key = tuple[int, str, int]  # glyph id, text it stands for, width


@functools.lru_cache(maxsize=128)
def _program(face: ShapingFont, gids: tuple[int, ...]) -> tuple[bytes, int]:
    raw = face.glyph_subset(gids)
    return zlib.compress(raw), len(raw)


def _tag(gids: tuple[int, ...]) -> str:
    """The six capital letters PDF puts before a subset font's name, from its glyphs."""
    number = zlib.crc32(repr(gids).encode())
    letters = ""
    for _ in range(6):
        number, rest = divmod(number, 26)
        letters += chr(ord("A") + rest)
    return letters


def _utf16(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _to_unicode(texts: list[str]) -> bytes:
    entries = [f"<{code:04X}> <{_utf16(text)}>" for code, text in enumerate(texts, 1)]
    blocks = []
    for start in range(0, len(entries), 100):
        chunk = entries[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


class _DocumentFont:
    """One font as used in one document: the codes handed out so far."""

    def __init__(self, face: ShapingFont, resource: str) -> None:
        self.face = face
        self.resource = resource
        self.codes: dict[_Key, int] = {}

    def code(self, gid: int, text: str, width: int) -> int:
        """The code that draws this glyph, standing for this text, with this width."""
        key = (gid, text, width)
        if key not in self.codes:
            self.codes[key] = len(self.codes) + 1
        return self.codes[key]

    def add_to(self, doc: pdfdoc.PDFDocument) -> None:
        keys = list(self.codes)
        gids = tuple(sorted({gid for gid, _, _ in keys} - {0}))
        new_gid = {gid: number for number, gid in enumerate(gids, 1)} | {0: 0}
        content, length = _program(self.face, gids)
        name = f"{_tag(gids)}+{self.face.name}"
        program = pdfdoc.PDFStream(content=content)
        program.dictionary["Length1"] = length
        program.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        file = self.face.file
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "FontName": pdfdoc.PDFName(name),
                "Flags": 4,
                "FontBBox": pdfdoc.PDFArray(file.bbox),
                "ItalicAngle": file.italicAngle,
                "Ascent": file.ascent,
                "Descent": file.descent,
                "CapHeight": file.capHeight,
                "StemV": file.stemV,
                "FontFile2": doc.Reference(program, f"glyphFontFile:{name}"),
            }
        )
        to_gid = b"\0\0" + b"".join(new_gid[gid].to_bytes(2, "big") for gid, _, _ in keys)
        cid_map = pdfdoc.PDFStream(content=to_gid, filters=[pdfdoc.PDFZCompress])
        widths = pdfdoc.PDFArray([1, pdfdoc.PDFArray([width for _, _, width in keys])])
        cid_font = pdfdoc.PDFDictionary(
            {
                "Type": "/Font",
                "Subtype": "/CIDFontType2",
                "BaseFont": pdfdoc.PDFName(name),
                "CIDSystemInfo": pdfdoc.PDFDictionary(
                    {
                        "Registry": pdfdoc.PDFString("Adobe"),
                        "Ordering": pdfdoc.PDFString("Identity"),
                        "Supplement": 0,
                    }
                ),
                "FontDescriptor": doc.Reference(descriptor, f"glyphDescriptor:{name}"),
                "DW": 0,
                "W": widths,
                "CIDToGIDMap": doc.Reference(cid_map, f"glyphMap:{name}"),
            }
        )
        to_unicode = pdfdoc.PDFStream(
            content=_to_unicode([text for _, text, _ in keys]), filters=[pdfdoc.PDFZCompress]
        )
        font = pdfdoc.PDFDictionary(
            {
                "Type": "/Font",
                "Subtype": "/Type0",
                "BaseFont": pdfdoc.PDFName(name),
                "Encoding": "/Identity-H",
                "DescendantFonts": pdfdoc.PDFArray([doc.Reference(cid_font, f"glyphCID:{name}")]),
                "ToUnicode": doc.Reference(to_unicode, f"glyphUnicode:{name}"),
            }
        )
        doc.Reference(font, self.resource)
        doc.idToObject[pdfdoc.BasicFonts].dict[self.resource] = font


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


class GlyphFonts:
    """The shaped fonts of one document: draw lines with them, then add them before saving."""

    def __init__(self) -> None:
        self._fonts: dict[ShapingFont, _DocumentFont] = {}

    def _font(self, face: ShapingFont) -> _DocumentFont:
        if face not in self._fonts:
            self._fonts[face] = _DocumentFont(face, f"FG{len(self._fonts) + 1}")
        return self._fonts[face]

    def draw(self, c: Canvas, line: Line, x: float, y: float, size: float) -> None:
        """Draw the line from (x, y) at this size.

        Each run of one direction is its own text object, the runs in the order of the text
        and the clusters within a run left to right, which is how text extraction (and a
        screen reader) expects a right-to-left run: it reverses the run back to text order.
        """
        scale = size / 1000
        ops: list[str] = []
        for run in line.directional_runs():
            placed = []  # font, glyph, text, left (in font units from x), rise
            for cluster in sorted(run, key=lambda cluster: cluster.x):
                pen = cluster.x
                for number, glyph in enumerate(cluster.glyphs):
                    text = cluster.text if number == 0 else ""
                    placed.append((cluster.font, glyph, text, pen + glyph.x_offset))
                    pen += glyph.advance
            ops.append("BT")
            current = None
            for number, (face, glyph, text, left) in enumerate(placed):
                font = self._font(face)
                if font is not current:
                    ops.append(f"/{font.resource} {_number(size)} Tf")
                    current = font
                # The width written for a glyph reaches to where the next one is drawn, so
                # that software reading the text sees no gap (a gap would read as a space).
                following = placed[number + 1][3] if number + 1 < len(placed) else None
                width = (following if following is not None else left + glyph.advance) - left
                code = font.code(glyph.gid, text, width)
                at_x = _number(x + left * scale)
                at_y = _number(y + glyph.y_offset * scale)
                ops.append(f"1 0 0 1 {at_x} {at_y} Tm <{code:04X}> Tj")
            ops.append("ET")
        c.addLiteral("\n".join(ops))

    def add_to(self, c: Canvas) -> None:
        """Embed every font drawn with, each cut to the glyphs it drew."""
        for font in self._fonts.values():
            font.add_to(c._doc)
