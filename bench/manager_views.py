"""Managers' views on 50,000 learners: the team view, the partnership summary, the CSV export.

For each database (SQLite, and PostgreSQL when it answers): a fresh database (PostgreSQL:
created for the run and dropped WITH (FORCE) afterwards), migrated, with the partnerships
loaded; the bench course and data from `bench/manager_data.py` (50,000 learners in 200
organisations, 20 modules, 1,000,000 quiz attempts); then `python -m elearn serve` on a free
loopback port (ELEARN_COURSES_DIR pointing at the bench course, no content reload), and,
one request at a time:

1. the team view (`/manage`) as the manager of the 500-person team, 30 times after three
   warm-up requests; the same filtered to overdue people sorted by attention, and page 5;
2. the partnership summary: `/manage` as the partnership admin (about 25,000 people), 10
   times after three warm-ups; the same filtered to overdue people, and to one sector;
3. on a fresh server process (so that memory the summary pages freed, and the allocator
   kept, cannot hide an export's growth), after one small warm-up export:
   `/manage/export.csv` as the admin for one sector of the partnership (the filter nearest
   50,000 rows), for the whole partnership (about 500,000 rows), and as the manager for
   the team; time to first and last byte, rows, bytes, and the server process's resident
   memory (VmRSS from /proc every 50 ms during the download, and VmHWM before and after).

The server's CPU time per request is printed beside each figure (from /proc: 10 ms steps),
and the machine's load average before and after, since other work may share the machine.

    .venv/bin/python bench/manager_views.py [--databases sqlite postgresql]
        [--learners 50000] [--requests 30] [--admin-requests 10] [--profile DIR]

With --profile DIR, each scenario is also run once in process under pyinstrument (the
app built as the server builds it, against the same database, every call in one thread) and
the profiles are written to DIR as text (`pip install pyinstrument` first).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import loadkit as kit  # noqa: E402
from bench import manager_data  # noqa: E402

TEAM_TARGET_MS = 100
SUMMARY_TARGET_MS = 500
EXPORT_TARGET_S = 3.0
EXPORT_TARGET_ROWS = 50_000


# ---------------------------------------------------------------------------------------------
# The database and the server.


def create_database(db: kit.Database, courses: Path) -> None:
    """Migrate the fresh database and load the partnerships (no demo data)."""
    db.env["ELEARN_COURSES_DIR"] = str(courses)
    db.env["ELEARN_RELOAD_COURSES"] = "false"
    if db.kind == "postgresql":
        db._admin(f'CREATE DATABASE "{db.name}"')
    db._cli("db", "upgrade")
    db._cli("partnerships", "load")


def sign_in(http: httpx.Client, email: str, password: str) -> str:
    """Sign in through the form; the Cookie header the browser would then send."""
    page = http.get("/account/sign-in")
    csrf = kit._set_cookie(page, "elearn_csrf")
    if page.status_code != 200 or not csrf:
        raise kit.Failed(f"sign-in page: {page.status_code}, CSRF cookie {csrf!r}")
    response = http.post(
        "/account/sign-in",
        data={"csrf_token": csrf, "email": email, "password": password},
        headers={"Cookie": f"elearn_csrf={csrf}"},
    )
    session = kit._set_cookie(response, "elearn_session")
    new_csrf = kit._set_cookie(response, "elearn_csrf")
    if response.status_code != 303 or not session:
        raise kit.Failed(f"signing in as {email}: {response.status_code}")
    return f"elearn_session={session}; elearn_csrf={new_csrf or csrf}"


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


# ---------------------------------------------------------------------------------------------
# Measuring.


@dataclass
class Timed:
    """One page requested several times in a row."""

    name: str
    who: str
    path: str
    target_ms: float | None
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    size: int = 0
    shown: str = ""

    def ms(self, share: float) -> float:
        """A percentile in ms."""
        return 1000 * kit.percentile(sorted(self.seconds), share)


def timed_pages(
    http: httpx.Client,
    server: kit.Server,
    item: Timed,
    cookie: str,
    count: int,
    warmup: int = 3,
) -> Timed:
    """`warmup` requests, then `count` timed ones, one after the other."""
    headers = {"Cookie": cookie}
    for _ in range(warmup):
        http.get(item.path, headers=headers)
    for _ in range(count):
        cpu0 = server.cpu_seconds()
        started = time.perf_counter()
        response = http.get(item.path, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            item.failures[f"HTTP {response.status_code}"] += 1
            continue
        item.seconds.append(elapsed)
        item.cpu.append(server.cpu_seconds() - cpu0)
        item.size = len(response.content)
        item.shown = _shown(response.text)
    return item


def _shown(html: str) -> str:
    """The matrix's caption: how many people the page found, and which page this is."""
    found = re.search(r'id="matrix-caption">([^<]*)<', html)
    return found.group(1).strip() if found else "nobody"


@dataclass
class Export:
    """One CSV download."""

    name: str
    who: str
    path: str
    seconds: float = 0.0
    first_byte: float = 0.0
    rows: int = 0
    size: int = 0
    status: int = 0
    rss_before: int = 0
    rss_peak: int = 0
    rss_after: int = 0
    hwm_before: int = 0
    hwm_after: int = 0
    cpu: float = 0.0
    samples: int = 0

    @property
    def growth_mib(self) -> float:
        """Peak resident memory during the download above the level before it."""
        return (self.rss_peak - self.rss_before) / 1024


def export(http: httpx.Client, server: kit.Server, item: Export, cookie: str) -> Export:
    """Download the CSV while sampling the server's resident memory every 50 ms."""
    pid = server.proc.pid
    before = proc_status(pid)
    item.rss_before, item.hwm_before = before["VmRSS"], before["VmHWM"]
    peak = [item.rss_before]
    samples = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], proc_status(pid)["VmRSS"])
            samples[0] += 1

    sampler = threading.Thread(target=sample, daemon=True)
    cpu0 = server.cpu_seconds()
    sampler.start()
    started = time.perf_counter()
    newlines = 0
    try:
        with http.stream("GET", item.path, headers={"Cookie": cookie}) as response:
            item.status = response.status_code
            for chunk in response.iter_raw():
                if not item.size:
                    item.first_byte = time.perf_counter() - started
                item.size += len(chunk)
                newlines += chunk.count(b"\n")
        item.seconds = time.perf_counter() - started
    finally:
        stop.set()
        sampler.join(timeout=5)
    item.cpu = server.cpu_seconds() - cpu0
    after = proc_status(pid)
    item.rss_peak = max(peak[0], after["VmRSS"])
    item.rss_after, item.hwm_after = after["VmRSS"], after["VmHWM"]
    item.rows = max(0, newlines - 1)  # less the header; no cell holds a line break
    item.samples = samples[0]
    return item


# ---------------------------------------------------------------------------------------------
# One database.


@dataclass
class Report:
    """Everything measured on one database."""

    kind: str
    generation: dict[str, Any] = field(default_factory=dict)
    generation_seconds: float = 0.0
    pages: list[Timed] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    server_errors: Counter[str] = field(default_factory=Counter)
    rss_start: int = 0
    rss_after_pages: int = 0
    hwm_after_pages: int = 0
    rss_start_exports: int = 0
    load: tuple[float, float] = (0.0, 0.0)
    machine_cpu: float = 0.0
    wall: float = 0.0
    profiles: list[str] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)


def measure(kind: str, args: argparse.Namespace) -> Report:
    """Create, fill, serve and measure one database; drop it afterwards."""
    report = Report(kind)
    tmp = Path(tempfile.mkdtemp(prefix=f"elearn-bench-managers-{kind}-"))
    db = kit.Database(kind, tmp)
    courses = tmp / "courses"
    try:
        create_database(db, courses)
        started = time.perf_counter()
        print(f"{kind}: generating the data...", file=sys.stderr, flush=True)
        report.generation = manager_data.generate(
            db.url,
            courses,
            learners=args.learners,
            organisations=args.organisations,
            attempts=args.attempts,
            seed=args.seed,
            log=lambda line: print(f"{kind}: {line}", file=sys.stderr, flush=True),
        )
        report.generation_seconds = time.perf_counter() - started
        if kind == "sqlite":
            report.generation["database_bytes"] = (tmp / "elearn.sqlite3").stat().st_size
        else:
            report.generation["database_bytes"] = int(
                db.scalar("SELECT pg_database_size(current_database())")
            )
        load0, mcpu0, t0 = os.getloadavg()[0], kit.machine_busy(), time.perf_counter()
        for phase in (measure_pages, measure_exports):
            server = kit.elearn_server(db)
            try:
                phase(report, server, args)
            finally:
                server.stop()
                report.server_errors.update(server.errors())
        report.wall = time.perf_counter() - t0
        report.machine_cpu = (kit.machine_busy() - mcpu0) / report.wall
        report.load = (load0, os.getloadavg()[0])
        if args.profile:
            report.profiles = profile(db, report, args)
    finally:
        try:
            db.drop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return report


def scenarios(report: Report) -> tuple[list[tuple[Timed, str]], list[tuple[Export, str]]]:
    """The pages and exports to measure, with whose session each is requested."""
    gen = report.generation
    sector, _ = _export_sector(gen)
    pages = [
        (Timed("team view", "manager", "/manage", TEAM_TARGET_MS), "manager"),
        (
            Timed(
                "team view: overdue, most overdue first",
                "manager",
                "/manage?status=overdue&sort=attention",
                TEAM_TARGET_MS,
            ),
            "manager",
        ),
        (Timed("team view: page 5", "manager", "/manage?page=5", TEAM_TARGET_MS), "manager"),
        (Timed("partnership summary", "admin", "/manage", SUMMARY_TARGET_MS), "admin"),
        (
            Timed(
                "partnership: overdue, most overdue first",
                "admin",
                "/manage?status=overdue&sort=attention",
                SUMMARY_TARGET_MS,
            ),
            "admin",
        ),
        (
            Timed(f"partnership, one sector ({sector})", "admin", f"/manage?sector={sector}", None),
            "admin",
        ),
    ]
    exports = [
        (Export(f"one sector ({sector})", "admin", f"/manage/export.csv?sector={sector}"), "admin"),
        (Export("whole partnership", "admin", "/manage/export.csv"), "admin"),
        (Export("the 500-person team", "manager", "/manage/export.csv"), "manager"),
    ]
    return pages, exports


def _export_sector(gen: dict[str, Any]) -> tuple[str, int]:
    """The sector of the admin's partnership whose export is nearest 50,000 rows."""
    counts = gen["people_by_sector_in_partnership"]
    best = min(counts, key=lambda s: abs(counts[s] * manager_data.MODULES - EXPORT_TARGET_ROWS))
    return best, counts[best]


def _client(server: kit.Server) -> httpx.Client:
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))  # cookies go by hand
    return httpx.Client(base_url=server.url, timeout=600, follow_redirects=False, cookies=jar)


def measure_pages(report: Report, server: kit.Server, args: argparse.Namespace) -> None:
    """Sign in as the manager and the admin, then time each page in turn."""
    gen = report.generation
    report.rss_start = proc_status(server.proc.pid)["VmRSS"]
    with _client(server) as http:
        report.cookies = {
            "manager": sign_in(http, gen["manager"], gen["password"]),
            "admin": sign_in(http, gen["admin"], gen["password"]),
        }
        pages, _ = scenarios(report)
        for item, who in pages:
            count = args.requests if who == "manager" else args.admin_requests
            print(f"{report.kind}: {item.name} ({count}x)...", file=sys.stderr, flush=True)
            report.pages.append(timed_pages(http, server, item, report.cookies[who], count))
    after = proc_status(server.proc.pid)
    report.rss_after_pages, report.hwm_after_pages = after["VmRSS"], after["VmHWM"]


def measure_exports(report: Report, server: kit.Server, args: argparse.Namespace) -> None:
    """Each export in turn, on a server that has served nothing else but one small export.

    A fresh process, so that memory the summary pages freed (and the allocator kept) cannot
    hide an export's growth.
    """
    _, exports = scenarios(report)
    with _client(server) as http:
        warm = Export("warm-up", "manager", "/manage/export.csv")
        export(http, server, warm, report.cookies["manager"])
        report.rss_start_exports = proc_status(server.proc.pid)["VmRSS"]
        for item, who in exports:
            for run in range(args.export_runs):
                print(f"{report.kind}: export {item.name}...", file=sys.stderr, flush=True)
                copy = Export(
                    item.name + (f" (run {run + 1})" if args.export_runs > 1 else ""),
                    item.who,
                    item.path,
                )
                report.exports.append(export(http, server, copy, report.cookies[who]))


def profile(db: kit.Database, report: Report, args: argparse.Namespace) -> list[str]:
    """Each scenario once more, in this process under pyinstrument; the profiles' files.

    The app is built as the server builds it, against the same database, and driven through
    httpx's ASGI transport with the thread pool replaced by inline calls, so that the
    request's whole work happens in the one thread pyinstrument samples. The sessions
    signed in over HTTP are reused (they live in the database).
    """
    import anyio.to_thread
    from pyinstrument import Profiler

    from elearn.app import create_app
    from elearn.config import load_settings

    settings = load_settings(
        database_url=db.url,
        data_dir=db.tmp,
        courses_dir=Path(db.env["ELEARN_COURSES_DIR"]),
        reload_courses=False,
        log_level="warning",
    )
    app = create_app(settings, configure_logging=False)
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    async def inline(func: Any, *fargs: Any, **_: Any) -> Any:
        return func(*fargs)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            for name, who, path in _profile_targets(report):
                headers = {"Cookie": report.cookies[who]}
                await http.get(path, headers=headers)  # warm-up
                profiler = Profiler(interval=0.001, async_mode="disabled")
                started = time.perf_counter()
                profiler.start()
                response = await http.get(path, headers=headers)
                profiler.stop()
                elapsed = time.perf_counter() - started
                slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
                target = out / f"{report.kind}-{slug}.txt"
                target.write_text(
                    f"{name}: GET {path} as {who}: HTTP {response.status_code}, "
                    f"{len(response.content):,} bytes, {elapsed:.3f} s under the profiler\n\n"
                    + profiler.output_text(unicode=False, color=False, show_all=False)
                )
                written.append(str(target))

    original = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    try:
        kit.run_async(run())
    finally:
        anyio.to_thread.run_sync = original  # type: ignore[assignment]
        app.state.engine.dispose()
    return written


def _profile_targets(report: Report) -> list[tuple[str, str, str]]:
    pages, exports = scenarios(report)
    return [(t.name, who, t.path) for t, who in pages] + [
        (f"export {e.name}", who, e.path) for e, who in exports
    ]


# ---------------------------------------------------------------------------------------------
# Output.


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def print_report(report: Report, args: argparse.Namespace) -> None:
    """Markdown tables for one database."""
    gen = report.generation
    print(f"\n## {report.kind}\n")
    rows = gen["rows"]
    print(
        f"Data: {rows.get('user', 0):,} people ({args.learners:,} learners) in "
        f"{rows.get('organisation', 0)} organisations and {rows.get('team', 0):,} teams; "
        f"{rows.get('quizattempt', 0):,} quiz attempts, "
        f"{rows.get('modulecompletion', 0):,} module completions "
        f"({100 * gen['completed_pairs'] / gen['pairs']:.0f}% of learner x module pairs), "
        f"{rows.get('lessonprogress', 0):,} lesson progress rows, "
        f"{rows.get('assignment', 0):,} assignments (the track, one per team); "
        f"database {gen['database_bytes'] / 2**30:.1f} GiB. People in the admin's partnership: "
        f"{gen['people_by_partnership'].get(gen['partnership'], 0):,}.\n"
    )
    print(
        f"Generation: **{report.generation_seconds:.0f} s** in all ("
        + "; ".join(f"{k} {v:.0f} s" for k, v in gen["timings"].items() if k != "total")
        + "); writing: "
        + ", ".join(f"{t} {s:.0f} s" for t, s in gen["write_seconds"].items() if s >= 1)
        + ".\n"
    )
    print(
        "| page | as | requests | p50 ms | p95 ms | max ms | server CPU ms (median) "
        "| page KB | shows | target p95 | |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for p in report.pages:
        target = f"{p.target_ms:.0f} ms" if p.target_ms else ""
        verdict = _verdict(p.ms(0.95) < p.target_ms) if p.target_ms and p.seconds else ""
        fails = f" ({sum(p.failures.values())} failed)" if p.failures else ""
        cpu = sorted(p.cpu)
        print(
            f"| {p.name} `{p.path}` | {p.who} | {len(p.seconds)}{fails} | {p.ms(0.5):.0f} | "
            f"{p.ms(0.95):.0f} | {p.ms(1.0):.0f} | "
            f"{1000 * kit.percentile(cpu, 0.5):.0f} | {p.size / 1024:.0f} | {p.shown} | "
            f"{target} | {verdict} |"
        )
    print()
    print(
        "| export | as | rows | MB | first byte s | total s | server CPU s "
        "| RSS before / peak / after MiB | VmHWM before / after MiB | RSS samples |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---|---:|")
    for e in report.exports:
        status = "" if e.status == 200 else f" (HTTP {e.status})"
        print(
            f"| {e.name}{status} `{e.path}` | {e.who} | {e.rows:,} | {e.size / 1e6:.1f} | "
            f"{e.first_byte:.2f} | **{e.seconds:.2f}** | {e.cpu:.1f} | "
            f"{_mib(e.rss_before)} / {_mib(e.rss_peak)} / {_mib(e.rss_after)} | "
            f"{_mib(e.hwm_before)} / {_mib(e.hwm_after)} | {e.samples} |"
        )
    print(
        f"\nServer memory (VmRSS): {_mib(report.rss_start)} MiB when the pages' server "
        f"started, {_mib(report.rss_after_pages)} MiB after the pages (high-water mark "
        f"{_mib(report.hwm_after_pages)} MiB); the exports ran on a fresh server, at "
        f"{_mib(report.rss_start_exports)} MiB after one small warm-up export."
    )
    print(
        "Measuring took "
        f"{report.wall:.0f} s; whole machine CPU {100 * report.machine_cpu:.0f}% "
        f"(100% = one core); load average {report.load[0]:.2f} before, {report.load[1]:.2f} "
        "after."
    )
    if report.server_errors:
        print("\nServer error log (grouped):\n")
        for line, n in report.server_errors.most_common(10):
            print(f"- {n} x `{line}`")
    else:
        print("\nServer error log: no errors.")
    if report.profiles:
        print("\nProfiles: " + ", ".join(report.profiles))


def print_summary(reports: list[Report]) -> None:
    """The targets, database by database."""
    print("\n## Against the targets\n")
    print("| target | " + " | ".join(r.kind for r in reports) + " |")
    print("|---|" + "---|" * len(reports))
    cells = []
    for r in reports:
        team = next((p for p in r.pages if p.name == "team view"), None)
        cells.append(
            "" if team is None else f"p95 {team.ms(0.95):.0f} ms {_verdict(team.ms(0.95) < 100)}"
        )
    print(f"| team view, 500 people: p95 under {TEAM_TARGET_MS} ms | " + " | ".join(cells) + " |")
    cells = []
    for r in reports:
        summary = next((p for p in r.pages if p.name == "partnership summary"), None)
        cells.append(
            ""
            if summary is None
            else f"p95 {summary.ms(0.95):.0f} ms {_verdict(summary.ms(0.95) < SUMMARY_TARGET_MS)}"
        )
    print(f"| partnership summary: p95 under {SUMMARY_TARGET_MS} ms | " + " | ".join(cells) + " |")
    cells = []
    for r in reports:
        near = [e for e in r.exports if e.name.startswith("one sector")]
        if not near:
            cells.append("")
            continue
        worst = max(near, key=lambda e: e.seconds)
        growth = max(e.growth_mib for e in r.exports)
        cells.append(
            f"{worst.rows:,} rows in {worst.seconds:.1f} s "
            f"{_verdict(worst.seconds < EXPORT_TARGET_S)}; RSS grew by at most {growth:.0f} MiB "
            "during one export"
        )
    print(
        f"| CSV export of ~{EXPORT_TARGET_ROWS:,} rows: under {EXPORT_TARGET_S:.0f} s, "
        "flat memory | " + " | ".join(cells) + " |"
    )


def main() -> None:
    """Measure each database and print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--learners", type=int, default=50_000)
    parser.add_argument("--organisations", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=30, help="each manager page")
    parser.add_argument("--admin-requests", type=int, default=10, help="each admin page")
    parser.add_argument("--export-runs", type=int, default=2)
    parser.add_argument("--profile", help="also profile each scenario in process into DIR")
    args = parser.parse_args()
    if not 1 <= args.requests <= 1000 or not 1 <= args.admin_requests <= 1000:
        parser.error("1 to 1,000 requests per page")
    kinds = list(args.databases)
    if "postgresql" in kinds and not kit.postgres_reachable():
        print(f"PostgreSQL at {kit.PG_SERVER} is not reachable: skipping it", file=sys.stderr)
        kinds.remove("postgresql")
    started = time.monotonic()
    load_before = os.getloadavg()
    reports = [measure(kind, args) for kind in kinds]
    print(
        f"# Managers' views: {args.learners:,} learners, {args.organisations} organisations, "
        f"{manager_data.MODULES} modules, {args.attempts:,} quiz attempts; one uvicorn process, "
        f"client on the same {os.cpu_count()}-core machine ({time.monotonic() - started:.0f} s "
        f"in all; load average {load_before[0]:.2f} / {load_before[1]:.2f} / "
        f"{load_before[2]:.2f} before, {os.getloadavg()[0]:.2f} after)"
    )
    for report in reports:
        print_report(report, args)
    print_summary(reports)


if __name__ == "__main__":
    main()
