"""Build the certificate's fallback fonts from Noto (run by a developer, not at run time).

Needs fontTools (`pip install fonttools`) and the Debian packages fonts-noto-core and
fonts-noto-cjk. Each font is cut down to the letters of its script, without hinting; the
Chinese font keeps the 6,763 characters of GB2312 (levels 1 and 2) and is converted to
TrueType outlines, which the PDF writer embeds. Writes into elearn/certificates/fonts/.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

NOTO = Path("/usr/share/fonts/truetype/noto")
CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
OUT = Path(__file__).resolve().parent.parent / "elearn" / "certificates" / "fonts"

# Spaces, joiners, marks of direction, the dotted circle and a little punctuation that names use.
COMMON = [0x20, 0xA0, 0x2D, 0x2E, 0x27, 0x2019, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x25CC]
SCRIPTS = {
    "NotoSansArabic-Bold.ttf": [
        (0x0600, 0x06FF),
        (0x0750, 0x077F),
        (0x08A0, 0x08FF),
        (0xFB50, 0xFDFF),
        (0xFE70, 0xFEFF),
    ],
    "NotoSansDevanagari-Bold.ttf": [(0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF)],
    "NotoSansBengali-Bold.ttf": [(0x0980, 0x09FF), (0x0964, 0x0965)],
    "NotoSansGurmukhi-Bold.ttf": [(0x0A00, 0x0A7F), (0x0964, 0x0965)],
    "NotoSansGujarati-Bold.ttf": [(0x0A80, 0x0AFF), (0x0964, 0x0965)],
    "NotoSansTamil-Bold.ttf": [(0x0B80, 0x0BFF), (0x0964, 0x0965)],
    "NotoSansEthiopic-Bold.ttf": [(0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F)],
}


def _options() -> subset.Options:
    options = subset.Options()
    options.hinting = False
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    return options


def _cut(font: TTFont, codepoints: list[int], target: Path) -> None:
    cutter = subset.Subsetter(options=_options())
    cutter.populate(unicodes=codepoints)
    cutter.subset(font)
    for tag in ("cvt ", "fpgm", "prep", "gasp", "hdmx", "LTSH", "VDMX", "DSIG"):
        if tag in font:
            del font[tag]
    font.save(target)
    print(f"{target.name}: {target.stat().st_size:,} bytes")


def _gb2312() -> list[int]:
    found = []
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):  # a few codes are unassigned
                found.append(ord(bytes([high, low]).decode("gb2312")))
    return found


def _to_truetype(font: TTFont) -> None:
    """Replace cubic CFF outlines by quadratic glyf outlines (TrueType)."""
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    maxp.maxComponentDepth = 0
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"
    glyf.compile(font)  # works out the bounding boxes and maxp limits


def main() -> None:
    for name, ranges in SCRIPTS.items():
        points = [*COMMON, *(p for low, high in ranges for p in range(low, high + 1))]
        _cut(TTFont(NOTO / name), points, OUT / name)
    collection = TTCollection(CJK)
    chinese = next(f for f in collection if "CJK SC" in f["name"].getDebugName(1))
    points = [*COMMON, 0xB7, *range(0x3000, 0x3040), *range(0xFF01, 0xFF5F), *_gb2312()]
    cutter = subset.Subsetter(options=_options())
    cutter.populate(unicodes=points)
    cutter.subset(chinese)
    _to_truetype(chinese)
    chinese.save(OUT / "NotoSansSC-Bold-GB2312.ttf")
    reloaded = TTFont(OUT / "NotoSansSC-Bold-GB2312.ttf")
    reloaded.save(OUT / "NotoSansSC-Bold-GB2312.ttf")  # recompiled: maxp limits worked out
    print(f"NotoSansSC-Bold-GB2312.ttf: {(OUT / 'NotoSansSC-Bold-GB2312.ttf').stat().st_size:,}")


if __name__ == "__main__":
    sys.exit(main())
