"""Whether a PDF shows exactly the pages of another: every difference, in words.

Objects are compared by what they are, not by where they sit in the file: indirect
references are followed, streams are compared decoded, and numbers within a hundredth of a
point, so a file saved again by a PDF tool without changes compares the same.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pypdf import PageObject, PdfReader
from pypdf.generic import (
    BooleanObject,
    ContentStream,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    StreamObject,
    TextStringObject,
)

_TOLERANCE = 0.01
_DEPTH = 60
_STREAM_ENCODING = {"/Length", "/Filter", "/DecodeParms", "/DL"}
# Page entries that change nothing a reader sees; the boxes, contents, resources and
# annotations are compared on their own.
_PAGE_IGNORED = {"/Parent", "/Trans", "/Dur", "/Thumb", "/Metadata", "/PieceInfo"}
_PAGE_IGNORED |= {"/LastModified", "/StructParents", "/Tabs", "/ID", "/PZ", "/B", "/Type"}
_PAGE_OWN = {"/Contents", "/Resources", "/Annots", "/MediaBox", "/CropBox", "/Rotate"}
_PRINT_BOXES = {"/BleedBox", "/TrimBox", "/ArtBox", "/BoxColorInfo"}
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_RESOURCE_IGNORED = {"/ProcSet"}
_CATALOG_EXTRAS = {
    "/OpenAction": "an action run when the file is opened",
    "/AA": "actions run when the file is opened, saved or printed",
    "/AcroForm": "a form whose fields can be drawn over the page",
    "/Collection": "a portfolio view, which shows attached files instead of the page",
    "/Metadata": "metadata that can give the file another title",
}
_MAX_WORDS = 12


def _resolved(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _is_number(obj: Any) -> bool:
    return isinstance(obj, int | float) and not isinstance(obj, bool)


def _as_bytes(obj: Any) -> bytes | None:
    if isinstance(obj, TextStringObject):
        return bytes(obj.original_bytes)
    if isinstance(obj, bytes) and not isinstance(obj, NameObject):
        return bytes(obj)
    return None


class _Comparison:
    """Deep equality of PDF objects, walking both in step so the work is bounded by the
    smaller; references that loop back compare by where they loop to."""

    def __init__(self) -> None:
        self._path: list[tuple[int, int]] = []

    def same(self, found: Any, expected: Any, ignored: frozenset[str] = frozenset()) -> bool:
        """Whether found is, object for object, what expected is."""
        if len(self._path) > _DEPTH:
            return False
        if isinstance(found, IndirectObject) or isinstance(expected, IndirectObject):
            return self._same_referenced(found, expected, ignored)
        if isinstance(found, StreamObject) or isinstance(expected, StreamObject):
            return self._same_stream(found, expected)
        if isinstance(found, NameObject) or isinstance(expected, NameObject):
            return isinstance(found, NameObject) and found == expected
        if isinstance(found, BooleanObject | bool) or isinstance(expected, BooleanObject | bool):
            return isinstance(found, BooleanObject | bool) and bool(found) == bool(expected)
        if _is_number(found) or _is_number(expected):
            return (
                _is_number(found)
                and _is_number(expected)
                and math.isclose(found, expected, rel_tol=0, abs_tol=_TOLERANCE)
            )
        found_bytes, expected_bytes = _as_bytes(found), _as_bytes(expected)
        if found_bytes is not None or expected_bytes is not None:
            return found_bytes == expected_bytes
        if isinstance(found, Mapping) or isinstance(expected, Mapping):
            return self._same_dictionary(found, expected, ignored)
        if isinstance(found, list | tuple) or isinstance(expected, list | tuple):
            return self._same_array(found, expected)
        if isinstance(found, NullObject) or found is None:
            return isinstance(expected, NullObject) or expected is None
        return bool(found == expected)

    def _same_referenced(self, found: Any, expected: Any, ignored: frozenset[str]) -> bool:
        mark = (
            id(_resolved(found)) if isinstance(found, IndirectObject) else 0,
            id(_resolved(expected)) if isinstance(expected, IndirectObject) else 0,
        )
        for seen in self._path:
            if mark[1] and seen[1] == mark[1]:
                return seen == mark
            if mark[0] and seen[0] == mark[0]:
                return False
        self._path.append(mark)
        try:
            return self.same(_resolved(found), _resolved(expected), ignored)
        finally:
            self._path.pop()

    def _same_dictionary(self, found: Any, expected: Any, ignored: frozenset[str]) -> bool:
        if not (isinstance(found, Mapping) and isinstance(expected, Mapping)):
            return False
        keys = set(expected) - ignored
        if set(found) - ignored != keys:
            return False
        return all(self.same(found[key], expected[key]) for key in sorted(keys))

    def _same_array(self, found: Any, expected: Any) -> bool:
        if not (isinstance(found, list | tuple) and isinstance(expected, list | tuple)):
            return False
        return len(found) == len(expected) and all(
            self.same(a, b) for a, b in zip(found, expected, strict=True)
        )

    def _same_stream(self, found: Any, expected: Any) -> bool:
        if not (isinstance(found, StreamObject) and isinstance(expected, StreamObject)):
            return False
        if not self._same_dictionary(found, expected, frozenset(_STREAM_ENCODING)):
            return False
        try:
            return bool(found.get_data() == expected.get_data())
        except Exception:  # a filter pypdf cannot decode, or damaged data
            return False


def _same(found: Any, expected: Any, ignored: frozenset[str] = frozenset()) -> bool:
    return _Comparison().same(found, expected, ignored)


# Pages ----------------------------------------------------------------------------------


def _attributes(page: PageObject) -> dict[str, Any]:
    """The page's entries, with those it inherits from the page tree filled in."""
    found = {key: page[key] for key in page if key not in _PAGE_IGNORED}
    parent, steps = page.get("/Parent"), 0
    while parent is not None and steps < _DEPTH:
        node = _resolved(parent)
        if not isinstance(node, DictionaryObject):
            break
        for key in _INHERITED:
            if key not in found and key in node:
                found[key] = node[key]
        parent, steps = node.get("/Parent"), steps + 1
    return found


def _drawing(page: PageObject) -> ContentStream | None:
    contents = page.get_contents()
    return contents if isinstance(contents, ContentStream) else None


def _same_drawing(page: PageObject, fresh: PageObject) -> bool:
    """Whether the page's content streams draw what the fresh page's do, operator for
    operator (however they are split, compressed or spaced)."""
    found, expected = _drawing(page), _drawing(fresh)
    if found is None or expected is None:
        return found is None and expected is None
    if found.get_data() == expected.get_data():
        return True
    return _same(found.operations, expected.operations)


def _box(attributes: Mapping[str, Any], key: str, default: Any) -> Any:
    return _resolved(attributes[key]) if key in attributes else default


def _size(box: Any) -> str:
    try:
        width, height = (abs(float(box[2]) - float(box[0])), abs(float(box[3]) - float(box[1])))
    except (TypeError, ValueError, IndexError):
        return "not a size"
    return f"{width:.1f} × {height:.1f} points"


def _rotation(attributes: Mapping[str, Any]) -> int | None:
    value = _resolved(attributes.get("/Rotate", 0))
    return int(value) % 360 if _is_number(value) else None


def _geometry(found: Mapping[str, Any], expected: Mapping[str, Any], page: str) -> list[str]:
    problems = []
    media, fresh_media = _box(found, "/MediaBox", None), _box(expected, "/MediaBox", None)
    if not _same(media, fresh_media):
        problems.append(
            f"{page} size (media box) differs from the certificate's: {_size(media)} "
            f"instead of {_size(fresh_media)}."
        )
    cropped = "/CropBox" in found or "/CropBox" in expected  # else the media box, as above
    crop, fresh_crop = _box(found, "/CropBox", media), _box(expected, "/CropBox", fresh_media)
    if cropped and not _same(crop, fresh_crop):
        problems.append(f"{page} shows a different part of itself (crop box) than the certificate.")
    turned = _rotation(found)
    if turned != _rotation(expected):
        problems.append(f"{page} is turned (rotated {turned}°) unlike the certificate.")
    return problems


_RESOURCE_NOUNS = {
    "/Font": ("a font", "fonts"),
    "/XObject": ("an image or drawn object", "images or drawn objects"),
}


def _resource_problems(found: Any, expected: Any, page: str) -> list[str]:
    """Fonts, images and other resources that were added, removed or changed."""
    found, expected = _resolved(found), _resolved(expected)
    if not isinstance(found, Mapping) or not isinstance(expected, Mapping):
        if _same(found, expected):
            return []
        return [f"{page}'s resources (fonts and images) differ from the certificate's."]
    problems = []
    for kind in sorted((set(found) | set(expected)) - _RESOURCE_IGNORED):
        mine, theirs = _resolved(found.get(kind, {})), _resolved(expected.get(kind, {}))
        one, _ = _RESOURCE_NOUNS.get(kind, (f"a graphics resource ({kind[1:]})", ""))
        if not isinstance(mine, Mapping) or not isinstance(theirs, Mapping):
            if not _same(mine, theirs):
                problems.append(f"{page}'s {kind[1:]} resources differ from the certificate's.")
            continue
        for name in sorted(set(mine) | set(theirs)):
            label = name.lstrip("/")
            if name not in theirs:
                problems.append(f"{page} uses {one} that the certificate does not ({label}).")
            elif name not in mine:
                problems.append(
                    f"{one.capitalize()} of the certificate is missing from {page.lower()} "
                    f"({label})."
                )
            elif not _same(mine[name], theirs[name]):
                problems.append(f"{one.capitalize()} on {page.lower()} was changed ({label}).")
    return problems


def _annotation_kinds(annotations: Any) -> str:
    kinds = []
    for item in _resolved(annotations) or []:
        subtype = _resolved(item).get("/Subtype") if isinstance(_resolved(item), Mapping) else None
        kinds.append(str(subtype).lstrip("/") if subtype else "unknown")
    return ", ".join(sorted(set(kinds))) or "none"


def _annotation_problems(found: Any, expected: Any, page: str) -> list[str]:
    if _same(found, expected, frozenset({"/P"})):
        return []
    if not _resolved(expected):
        return [
            f"{page} has annotations over it that the certificate does not "
            f"({_annotation_kinds(found)})."
        ]
    return [f"{page}'s annotations differ from the certificate's."]


def _words(page: PageObject) -> list[str]:
    try:
        return page.extract_text().split()
    except Exception:  # text that cannot be read is simply not quoted
        return []


def _quoted(words: Sequence[str]) -> str:
    shown = " ".join(words[:_MAX_WORDS])
    return f'"{shown}{" …" if len(words) > _MAX_WORDS else ""}"'


def _text_changes(page: PageObject, fresh: PageObject, name: str) -> list[str]:
    """Words the page's text has that the fresh page's does not, and the other way round."""
    found, expected = _words(page), _words(fresh)
    added: list[str] = []
    removed: list[str] = []
    matcher = difflib.SequenceMatcher(a=expected, b=found, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            added.append(_quoted(found[b0:b1]))
        if tag in ("replace", "delete"):
            removed.append(_quoted(expected[a0:a1]))
    problems = []
    if added:
        problems.append(
            f"{name}'s text has words that the signed data does not give: {', '.join(added[:5])}."
        )
    if removed:
        problems.append(
            f"Words that the signed data gives are missing from {name.lower()}'s text: "
            f"{', '.join(removed[:5])}."
        )
    return problems


def _other_entries(found: Mapping[str, Any], expected: Mapping[str, Any], page: str) -> list[str]:
    problems = []
    for key in sorted((set(found) | set(expected)) - _PAGE_OWN - _PRINT_BOXES):
        if key not in expected:
            problems.append(f"{page} has a setting that the certificate does not ({key[1:]}).")
        elif key not in found:
            problems.append(f"{page} lacks a setting that the certificate has ({key[1:]}).")
        elif not _same(found[key], expected[key]):
            problems.append(f"{page}'s {key[1:]} setting differs from the certificate's.")
    return problems


def page_differences(page: PageObject, fresh: PageObject, name: str = "The page") -> list[str]:
    """Every way the page differs from the freshly drawn one, named for a reader."""
    found, expected = _attributes(page), _attributes(fresh)
    problems = []
    redrawn = not _same_drawing(page, fresh)
    if redrawn:
        problems.append(f"{name}'s drawing differs from what the signed data gives.")
    problems += _resource_problems(
        found.get("/Resources", {}), expected.get("/Resources", {}), name
    )
    problems += _annotation_problems(found.get("/Annots"), expected.get("/Annots"), name)
    problems += _geometry(found, expected, name)
    problems += _other_entries(found, expected, name)
    if redrawn:
        problems += _text_changes(page, fresh, name)
    return problems


# Documents ------------------------------------------------------------------------------


def _catalog_problems(found: PdfReader, expected: PdfReader) -> list[str]:
    """Things in the file that act on or replace what is shown, which the certificate lacks."""
    catalog: Any = _resolved(found.trailer["/Root"])
    fresh: Any = _resolved(expected.trailer["/Root"])
    extras = [
        what
        for key, what in _CATALOG_EXTRAS.items()
        if key in catalog and not _same(catalog[key], fresh.get(key))
    ]
    names = _resolved(catalog.get("/Names"))
    if isinstance(names, Mapping) and "/JavaScript" in names:
        extras.append("scripts")
    return [f"The file carries something a certificate does not: {what}." for what in extras]


def _described(reader: PdfReader, key: str) -> str | None:
    info = reader.metadata
    value = info.get(key) if info is not None else None
    return str(value) if value is not None else None


def _description_problems(found: PdfReader, expected: PdfReader) -> list[str]:
    """The title, author and subject a reader sees (the title in the window's title bar)."""
    changed = [
        noun
        for key, noun in (("/Title", "title"), ("/Author", "author"), ("/Subject", "subject"))
        if _described(found, key) != _described(expected, key)
    ]
    if not changed:
        return []
    listed = " and ".join([", ".join(changed[:-1]), changed[-1]] if len(changed) > 1 else changed)
    return [f"The file's {listed} differ{'s' if len(changed) == 1 else ''} from the certificate's."]


def _page_count(found: int, expected: int) -> list[str]:
    if found == expected:
        return []
    if found > expected:
        extra = found - expected
        pages = "an extra page" if extra == 1 else f"{extra} extra pages"
        return [f"The file has {pages}."]
    return [f"The file has fewer pages than the certificate ({found} instead of {expected})."]


def differences(found: PdfReader, expected: PdfReader) -> list[str]:
    """Every way the file differs from the freshly drawn certificate; empty if it is the same."""
    several = len(expected.pages) > 1
    problems = []
    for number, (page, fresh) in enumerate(zip(found.pages, expected.pages, strict=False), start=1):
        problems += page_differences(page, fresh, f"Page {number}" if several else "The page")
    problems += _page_count(len(found.pages), len(expected.pages))
    return problems + _catalog_problems(found, expected) + _description_problems(found, expected)
