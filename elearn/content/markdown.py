"""Markdown to safe HTML: markdown-it-py with raw HTML off, then nh3 as a second line."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(
    ["table", "strikethrough"]
)
TOP_HEADING = 2  # the page's own title is the h1


def _shift_headings(state: StateCore) -> None:
    """Move every heading so the highest an author wrote becomes h2, keeping their order.

    Whether a lesson starts at `#`, `##` or `###`, its headings sit straight below the page's
    h1, with no level skipped (WCAG 1.3.1); nothing goes below h6."""
    headings = [t for t in state.tokens if t.type in ("heading_open", "heading_close")]
    if not headings:
        return
    shift = TOP_HEADING - min(int(t.tag[1]) for t in headings)
    for token in headings:
        token.tag = f"h{min(6, int(token.tag[1]) + shift)}"


_md.core.ruler.push("shift_headings", _shift_headings)

_BLOCK_TAGS = {
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "code",
    "hr",
    "br",
    "strong",
    "em",
    "s",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
_INLINE_TAGS = {"strong", "em", "s", "code", "a", "br"}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
_SCHEMES = {"http", "https", "mailto", "tel"}


def _clean(html: str, tags: set[str]) -> Markup:
    cleaned = nh3.clean(
        html,
        tags=tags,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above


def render_block(text: str) -> Markup:
    """Render Markdown paragraphs, lists and headings to sanitised HTML."""
    return _clean(_md.render(text), _BLOCK_TAGS)


def render_inline(text: str) -> Markup:
    """Render one line of Markdown (titles, prompts, feedback) to sanitised inline HTML."""
    return _clean(_md.renderInline(text), _INLINE_TAGS)
