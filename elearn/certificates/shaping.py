"""Lines of text in any script the certificate fonts cover, shaped by HarfBuzz.

A line is split into runs of one direction and one font (the first font that has the letter,
so a name can mix scripts), each run is shaped, and the runs are put in visual order. What
comes out is glyphs with positions, grouped in clusters that keep the characters they show,
so the PDF can draw the glyphs and still give back the text.
"""

from __future__ import annotations

import copy
import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uharfbuzz as hb
from reportlab.pdfbase.ttfonts import TTFontFile

FONTS = Path(__file__).parent / "fonts"
# Fallback fonts for scripts the main fonts lack: one (bold) weight each, cut to their script.
SCRIPT_FONTS = (
    "NotoSansArabic-Bold.ttf",
    "NotoSansDevanagari-Bold.ttf",
    "NotoSansBengali-Bold.ttf",
    "NotoSansGurmukhi-Bold.ttf",
    "NotoSansGujarati-Bold.ttf",
    "NotoSansTamil-Bold.ttf",
    "NotoSansEthiopic-Bold.ttf",
    "NotoSansSC-Bold-GB2312.ttf",
)
_UNITS = 1000  # glyph positions are given in thousandths of the font size, as PDF widths are


@dataclass(frozen=True, slots=True)
class Glyph:
    """One glyph: its id in the font, advance and offsets in thousandths of the font size."""

    gid: int
    advance: int
    x_offset: int
    y_offset: int


@dataclass(frozen=True, slots=True)
class Cluster:
    """Glyphs that together show `text`, which starts at `index` of the line's text."""

    index: int
    text: str
    font: ShapingFont
    x: int  # where the cluster starts on the line, left to right
    rtl: bool
    glyphs: tuple[Glyph, ...]


@dataclass(frozen=True, slots=True)
class Line:
    """A shaped line: clusters in the order of the text, placed left to right."""

    text: str
    clusters: tuple[Cluster, ...]
    width: int  # in thousandths of the font size

    def directional_runs(self) -> list[list[Cluster]]:
        """The clusters in runs of one direction, in the order of the text."""
        runs: list[list[Cluster]] = []
        for cluster in self.clusters:
            if runs and runs[-1][-1].rtl == cluster.rtl:
                runs[-1].append(cluster)
            else:
                runs.append([cluster])
        return runs

    def missing(self) -> str:
        """Characters the fonts cannot draw (they would show as an empty box)."""
        found = {c for cl in self.clusters if any(g.gid == 0 for g in cl.glyphs) for c in cl.text}
        return "".join(sorted(c for c in found if not _invisible(c)))


class ShapingFont:
    """A TrueType font HarfBuzz shapes with; also the source of glyph subsets for the PDF."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = TTFontFile(str(path))
        self.name: str = self.file.name.decode("ascii", "replace")
        self.covers = frozenset(self.file.charToGlyph)
        face = hb.Face(hb.Blob(path.read_bytes()))
        self.hb_font = hb.Font(face)
        self.scale = _UNITS / face.upem

    def __repr__(self) -> str:
        return f"ShapingFont({self.path.name})"

    def glyph_subset(self, gids: Sequence[int]) -> bytes:
        """A TrueType font holding only these glyphs, in this order, as glyphs 1, 2, 3..."""
        by_id = copy.copy(self.file)  # a reader of its own, so that others may use self.file
        by_id.charToGlyph = {gid: gid for gid in gids}
        return bytes(by_id.makeSubset(list(gids)))


@functools.cache
def font(path: Path) -> ShapingFont:
    """The shaping font of a file, loaded once."""
    return ShapingFont(path)


def script_fonts() -> tuple[ShapingFont, ...]:
    """The fallback fonts, in the order they are tried."""
    return tuple(font(FONTS / name) for name in SCRIPT_FONTS)


def _invisible(char: str) -> bool:
    """Format characters (joiners, direction marks) that draw nothing of their own."""
    return unicodedata.category(char) == "Cf"


def is_simple(char: str) -> bool:
    """A letter of Latin, Greek or Cyrillic (or punctuation): the main fonts come first."""
    point = ord(char)
    return point < 0x0590 or 0x1D00 <= point < 0x2C00 or 0xA640 <= point < 0xA800


def _attaches(char: str) -> bool:
    """Marks, joiners, spaces and punctuation stay in the font of what they follow."""
    return unicodedata.category(char)[0] in "MZPC" or char in "-'\u2019"


def _fonts_for(char: str, main: ShapingFont) -> tuple[ShapingFont, ...]:
    others = script_fonts()
    return (main, *others) if is_simple(char) else (*others, main)


def _choose_fonts(text: str, main: ShapingFont) -> list[ShapingFont]:
    """The font for each character: the first that has it, marks staying with their base."""
    chosen: list[ShapingFont] = []
    for char in text:
        previous = chosen[-1] if chosen else None
        if previous is not None and _attaches(char) and ord(char) in previous.covers:
            chosen.append(previous)
            continue
        options = _fonts_for(char, main)
        chosen.append(next((f for f in options if ord(char) in f.covers), previous or main))
    # Leading marks and spaces take the font of the first letter after them.
    first = next((n for n, c in enumerate(text) if not _attaches(c)), None)
    if first:
        chosen[:first] = [chosen[first]] * first
    return chosen


def _strong(char: str) -> str | None:
    kind = unicodedata.bidirectional(char)
    if kind in ("R", "AL"):
        return "R"
    if kind in ("L", "EN", "AN"):
        return "L"
    return None


def directions(text: str) -> tuple[bool, list[bool]]:
    """Whether the line reads right to left, and whether each character does.

    A simplified bidirectional algorithm, enough for names: the first strong letter sets the
    line's direction; a neutral (space, hyphen, mark) between letters of one direction takes
    it, and elsewhere the line's; digits read left to right.
    """
    strong = [_strong(c) for c in text]
    line_rtl = next((s for s in strong if s), "L") == "R"
    rtl: list[bool] = []
    for number, kind in enumerate(strong):
        if kind is None:
            before = next((s for s in reversed(strong[:number]) if s), None)
            after = next((s for s in strong[number + 1 :] if s), None)
            is_mark = unicodedata.category(text[number])[0] == "M"
            keeps = before and (is_mark or before == after)
            kind = before if keeps else ("R" if line_rtl else "L")
        rtl.append(kind == "R")
    return line_rtl, rtl


def _runs(text: str, main: ShapingFont) -> tuple[bool, list[tuple[int, int, ShapingFont, bool]]]:
    """The line's direction and its runs (start, end, font, right to left) in text order."""
    fonts = _choose_fonts(text, main)
    line_rtl, rtl = directions(text)
    runs: list[tuple[int, int, ShapingFont, bool]] = []
    start = 0
    for number in range(1, len(text) + 1):
        if number == len(text) or (fonts[number], rtl[number]) != (fonts[start], rtl[start]):
            runs.append((start, number, fonts[start], rtl[start]))
            start = number
    return line_rtl, runs


def _visual(line_rtl: bool, runs: list[tuple[int, int, ShapingFont, bool]]) -> list[int]:
    """The order in which runs appear from left to right (two levels: the line and its runs)."""
    groups: list[list[int]] = []
    for number, run in enumerate(runs):
        if groups and runs[groups[-1][-1]][3] == run[3]:
            groups[-1].append(number)
        else:
            groups.append([number])
    ordered = [list(reversed(g)) if runs[g[0]][3] else g for g in groups]
    if line_rtl:
        ordered.reverse()
    return [number for group in ordered for number in group]


def _shape_run(text: str, start: int, face: ShapingFont, rtl: bool) -> list[tuple[int, list]]:
    """HarfBuzz's glyphs for one run, grouped by cluster, left to right."""
    buffer = hb.Buffer()
    buffer.add_codepoints([ord(c) for c in text])
    buffer.direction = "rtl" if rtl else "ltr"
    buffer.guess_segment_properties()
    hb.shape(face.hb_font, buffer, {"kern": True, "liga": True})
    groups: list[tuple[int, list]] = []
    for info, position in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True):
        glyph = Glyph(
            info.codepoint,
            round(position.x_advance * face.scale),
            round(position.x_offset * face.scale),
            round(position.y_offset * face.scale),
        )
        if groups and groups[-1][0] == start + info.cluster:
            groups[-1][1].append(glyph)
        else:
            groups.append((start + info.cluster, [glyph]))
    return groups


@functools.lru_cache(maxsize=512)
def shape(text: str, main: ShapingFont) -> Line:
    """The line shaped with `main` first for Latin, Greek and Cyrillic, the others after."""
    line_rtl, runs = _runs(text, main)
    placed: list[tuple[int, int, ShapingFont, bool, list[Glyph]]] = []
    x = 0
    for number in _visual(line_rtl, runs):
        start, end, face, rtl = runs[number]
        for index, glyphs in _shape_run(text[start:end], start, face, rtl):
            placed.append((index, x, face, rtl, glyphs))
            x += sum(g.advance for g in glyphs)
    starts = sorted({index for index, *_ in placed} | {len(text)})
    ends = dict(zip(starts, starts[1:], strict=False))
    clusters = sorted(
        (
            Cluster(index, text[index : ends[index]], face, at, rtl, tuple(glyphs))
            for index, at, face, rtl, glyphs in placed
        ),
        key=lambda cluster: cluster.index,
    )
    return Line(text, tuple(clusters), x)
