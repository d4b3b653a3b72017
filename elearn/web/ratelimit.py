"""Per-address limits on forms and pages that cost something to answer.

Counted in memory, per server process: enough to stop one address hammering a form.
Sign-in has its own limits in the database (see `accounts.authenticate`).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import Request

from elearn.errors import TooManyAttempts


class SlidingWindow:
    """At most `limit` hits per key in any `seconds`-long window."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def allow(self, key: str, now: float | None = None) -> bool:
        """Count a hit for `key`; False when it is over the limit (and not counted)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _sweep(self, now: float) -> None:
        """Forget keys with no hit in the window, so memory stays bounded."""
        cutoff = now - self.seconds
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[key]
        self._next_sweep = now + self.seconds


def client_address(request: Request) -> str:
    """The address a request came from, as the server sees it."""
    return request.client.host if request.client else "unknown"


def check(request: Request, name: str) -> None:
    """Refuse with TooManyAttempts when this address is over the limit named `name`."""
    window: SlidingWindow = request.app.state.limits[name]
    if not window.allow(client_address(request)):
        minutes = max(1, round(window.seconds / 60))
        raise TooManyAttempts(
            "There have been a lot of requests from your network in a short time. "
            f"Please wait {minutes} minutes and try again. Nothing you typed was lost."
        )
