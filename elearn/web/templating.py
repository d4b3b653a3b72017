"""The Jinja2 environment shared by every route, compiled once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"


def make_templates(settings: Any) -> Jinja2Templates:
    """Templates with the globals every page uses."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    # Checking every template file's time on every render costs about 5% of a page;
    # only worth it while someone may be editing (ELEARN_RELOAD_COURSES).
    templates.env.auto_reload = bool(settings.reload_courses)
    from elearn.content.markdown import render_inline

    templates.env.filters["inline_md"] = render_inline
    templates.env.globals.update(
        service_name="Trauma-informed practice learning",
        exit_url=settings.exit_url,
        exit_ends_session=settings.exit_ends_session,
        feedback_url=settings.feedback_url or "/support",
        session_idle_seconds=settings.session_idle_minutes * 60,
    )
    return templates


CACHED_BLOCKS = ("title", "before_content", "content")
CACHE_LIMIT = 2000
SHELLS_PER_PAGE = 64


@dataclass(frozen=True)
class CachedPage:
    """A page's rendered blocks; the main content is kept encoded, ready to send."""

    blocks: dict[str, Markup]
    content: bytes
    shells: dict[tuple[object, ...], tuple[bytes, bytes]] = field(default_factory=dict)


_CONTENT_MARK = Markup("\x00content\x00")
# Stands for the visitor's CSRF token in a cached shell, which is shared between visitors.
_CSRF_MARK = "csrf-token-of-this-visitor-7Qk2"


def render_cached(request: Request, name: str, key: tuple[object, ...], **context: Any) -> Response:
    """Render a page whose content depends only on `key` (and the content version).

    Its blocks are rendered once per content version and reused. The shell around them
    (base.html) is rendered once per `request.state.shell_key`: whatever the layout shows
    that differs between requests must be part of that key, apart from the CSRF token, which
    is put in for each request.
    """
    templates: Jinja2Templates = request.app.state.templates
    cache: dict[tuple[object, ...], CachedPage] = request.app.state.page_cache
    full_key = (request.app.state.catalog.current.version, name, *key)
    page = cache.get(full_key)
    if page is None:
        template = templates.get_template(name)
        ctx = template.new_context(context)
        blocks = {
            block: Markup("".join(template.blocks[block](ctx)))  # noqa: S704 - Jinja output
            for block in CACHED_BLOCKS
            if block in template.blocks
        }
        page = CachedPage(blocks, blocks.pop("content", Markup("")).encode())
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[full_key] = page
    shell_key: tuple[object, ...] = getattr(request.state, "shell_key", ())
    shell = page.shells.get(shell_key)
    if shell is None:
        template = templates.get_template("_cached_page.html")
        token = request.state.csrf
        request.state.csrf = _CSRF_MARK  # each visitor's own token goes in when sent
        try:
            html = template.render(
                blocks={**page.blocks, "content": _CONTENT_MARK}, request=request
            )
        finally:
            request.state.csrf = token
        head, _, tail = html.partition(_CONTENT_MARK)
        shell = page.shells[shell_key] = (head.encode(), tail.encode())
        if len(page.shells) > SHELLS_PER_PAGE:
            page.shells.clear()
    mark, visitor = _CSRF_MARK.encode(), str(request.state.csrf).encode()
    before, after = (part.replace(mark, visitor) for part in shell)
    return Response(before + page.content + after, media_type="text/html")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the request's app-wide templates."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)
