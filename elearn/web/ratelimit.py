"""Per-address limits on forms and pages that cost something to answer.

Counted in memory, per server process: enough to stop one address hammering a form.
Sign-in has its own limits in the database (see `accounts.authenticate`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

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


@lru_cache(maxsize=8)
def _networks(setting: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip())


def _trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    """The address a request came from.

    X-Forwarded-For is believed only when the connection comes from a proxy named in
    ELEARN_TRUSTED_PROXIES: the client is then the last address in it that is not one of those
    proxies. Anyone else sending the header is counted by their own address."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(request.app.state.settings.trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(forwarded):
        if not _trusted(hop, networks):
            return hop[:64]
    return peer


def check(request: Request, name: str) -> None:
    """Refuse with TooManyAttempts when this address is over the limit named `name`."""
    window: SlidingWindow = request.app.state.limits[name]
    if not window.allow(client_address(request)):
        minutes = max(1, round(window.seconds / 60))
        raise TooManyAttempts(
            "There have been a lot of requests from your network in a short time. "
            f"Please wait {minutes} minutes and try again. Nothing you typed was lost."
        )
