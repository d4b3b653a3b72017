"""The in-memory per-address limit used by forms and public pages."""

from __future__ import annotations

from elearn.web.ratelimit import SlidingWindow


def test_a_window_allows_the_limit_then_refuses_until_old_hits_age_out() -> None:
    window = SlidingWindow(3, 60)
    assert [window.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert window.allow("b", now=3)  # another address has its own count
    assert not window.allow("a", now=59.9)
    assert window.allow("a", now=60.0)  # the hit at 0 has left the window
    assert not window.allow("a", now=60.5)


def test_refused_hits_do_not_extend_the_pause() -> None:
    window = SlidingWindow(1, 10)
    assert window.allow("a", now=0)
    for t in range(1, 10):
        assert not window.allow("a", now=t)
    assert window.allow("a", now=10)


def test_quiet_addresses_are_forgotten() -> None:
    window = SlidingWindow(5, 10)
    for i in range(1000):
        window.allow(f"10.0.{i // 256}.{i % 256}", now=0)
    window.allow("late", now=25)
    assert set(window._hits) == {"late"}
