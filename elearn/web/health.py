"""Health endpoint for load balancers and people on call."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlmodel import Session
from starlette.responses import JSONResponse

router = APIRouter()


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """Database status and the content version being served; 503 if the database is down."""
    try:
        with Session(request.app.state.engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is unavailable
        database = "unavailable"
    store = request.app.state.catalog
    catalog = store.current
    body = {
        "status": "ok" if database == "ok" else "degraded",
        "database": database,
        "content": {
            "version": catalog.version,
            "loaded_at": catalog.loaded_at.isoformat(timespec="seconds"),
            "courses": len(catalog.courses),
            "modules": catalog.module_count,
            "last_reload_problems": len(store.last_problems),
        },
    }
    return JSONResponse(body, status_code=200 if database == "ok" else 503)
