"""Health endpoint for load balancers and people on call."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import Future

from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.responses import JSONResponse

from elearn.web.unavailable import HEADERS

router = APIRouter()
# However the database fails (refusing, or accepting and never answering), /health answers
# within this; a check still waiting carries on alone and the next request shares it.
CHECK_SECONDS = 1.5
_lock = threading.Lock()


def _select_one(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means the database is unavailable
        return False


def _database_check(app: FastAPI) -> Future[bool]:
    """The database check in flight for this app, or a new one on its own thread.

    At most one check runs at a time, so a database that hangs cannot tie up threads."""
    with _lock:
        check: Future[bool] | None = getattr(app.state, "database_check", None)
        if check is None or check.done():
            check = app.state.database_check = Future()
            engine: Engine = app.state.engine

            def run(future: Future[bool] = check) -> None:
                future.set_result(_select_one(engine))

            threading.Thread(target=run, name="health-check", daemon=True).start()
    return check


async def _database_answers(app: FastAPI) -> bool:
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bool] = loop.create_future()

    def settle(check: Future[bool]) -> None:
        def set_answer() -> None:
            if not answer.done():
                answer.set_result(check.result())

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(set_answer)

    _database_check(app).add_done_callback(settle)
    try:
        return await asyncio.wait_for(answer, CHECK_SECONDS)
    except TimeoutError:
        return False


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Database status and the content version being served; 503 if the database is down."""
    database = "ok" if await _database_answers(request.app) else "unavailable"
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
    if database == "ok":
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers=HEADERS)
