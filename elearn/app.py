"""create_app(): the one place the application is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from elearn import __version__, logs
from elearn.config import Settings, get_settings
from elearn.content.catalog import CatalogStore, load_catalog
from elearn.db import make_engine, upgrade
from elearn.web import (
    admin,
    api,
    api_tokens,
    auth,
    certificates,
    errors,
    health,
    invitations,
    learn,
    manage,
    pages,
    trust,
    unavailable,
)
from elearn.web.deps import CsrfCookie
from elearn.web.ratelimit import SlidingWindow
from elearn.web.security import SecurityHeaders
from elearn.web.templating import make_templates

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger("elearn")


def freeze_long_lived_objects() -> None:
    """Move what is loaded now (the catalogue above all) out of the garbage collector's view,
    so full collections stop walking it: they fell from about 100 ms to under 5 ms."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, configure_logging: bool = True) -> FastAPI:
    """Build the app: settings, database, content, routes; raises ContentError on bad content."""
    settings = settings or get_settings()
    if configure_logging:
        logs.configure(settings.log_level, human=logs.readable(settings.environment))
    catalog = CatalogStore(settings.courses_dir, load_catalog(settings.courses_dir))
    if settings.is_sqlite:
        upgrade(settings.database_url)
    engine = make_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        stop = asyncio.Event()
        watcher = asyncio.create_task(catalog.watch(stop)) if settings.reload_courses else None
        log.info("serving content version %s", catalog.current.version)
        freeze_long_lived_objects()
        try:
            yield
        finally:
            stop.set()
            if watcher is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(watcher, timeout=5)
            engine.dispose()

    app = FastAPI(
        title="Trauma-informed e-learning",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.catalog = catalog
    app.state.templates = make_templates(settings)
    app.state.page_cache = {}
    app.state.limits = {
        "sign-up": SlidingWindow(settings.sign_ups_per_address_per_hour, 3600),
        "reset": SlidingWindow(settings.reset_requests_per_address_per_hour, 3600),
        "verify": SlidingWindow(settings.verifications_per_address_per_minute, 60),
    }
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(pages.router)
    app.include_router(trust.router)
    app.include_router(auth.router)
    app.include_router(learn.router)
    app.include_router(certificates.router)
    app.include_router(manage.router)
    app.include_router(invitations.router)
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(api_tokens.router)
    app.include_router(api.router)
    errors.install(app)
    unavailable.install(app)
    app.add_middleware(CsrfCookie, settings=settings)
    app.add_middleware(SecurityHeaders, hsts=settings.environment == "production")
    return app
