"""200 simulated learners against the real server, on SQLite and on PostgreSQL.

The bare FastAPI app (`bench/hello_app.py`) is measured first, once per run, with each
client at saturation. Then, for each database: a fresh database (PostgreSQL: created for the
run, migrated with `elearn db upgrade`, dropped WITH (FORCE) afterwards), demo organisations
from `elearn demo`, and `python -m elearn serve` on a free loopback port, and:

1. setup: 200 learners sign up through the form (a police organisation) and enrol on the
   police track of the real course; each learner has its own client, as a browser would;
2. journey: each learner reads the lessons of the first module and takes its quiz (start,
   questions page, submit with one valid choice per question, results page), 50 at a time;
3. open loop: signed-in lesson views launched on a fixed schedule (200 a second for 20 s),
   each learner carrying on through the track (so nearly every view is a first view, which
   writes progress); latency counts from the scheduled time, so queueing is not hidden;
4. saturation: signed-in lesson views, closed loop (50 concurrent, httpx), as a share of the
   bare app with the same client;
5. the same with wrk (a C client, so the Python client is not the limit): one learner's
   lesson, already read (with --rotating, also lessons rotating over every learner).

The client's and the server's CPU use are printed beside each figure (100% = one core): on
a 2-core machine a Python client near 100% is the bottleneck, not the server.

    .venv/bin/python bench/learners.py [--databases sqlite postgresql] [--learners 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import loadkit as kit  # noqa: E402

FIRST_MODULE = "understanding-trauma"


@dataclass
class Result:
    """One measured scenario."""

    name: str
    client: str
    offered: str = ""
    key: str = ""
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    retried: int = 0
    client_cpu: float | None = None
    server_cpu: float | None = None
    machine_cpu: float | None = None  # every process on the machine, 100% = one core
    first_views: int | None = None
    launch_lag_ms: float | None = None
    rps_override: float | None = None
    p_override: tuple[float, float, float] | None = None

    @property
    def ok(self) -> int:
        """Successful responses."""
        return len(self.latencies)

    @property
    def rps(self) -> float:
        """Successful responses a second."""
        if self.rps_override is not None:
            return self.rps_override
        return self.ok / self.seconds if self.seconds else 0.0

    def percentiles(self) -> tuple[float, float, float]:
        """p50, p95, p99 in ms."""
        return self.p_override or kit.summary_ms(self.latencies)

    def fail(self, what: str, detail: str) -> None:
        """Count a failure and keep a few examples."""
        self.errors[what] += 1
        if len(self.samples) < 5:
            self.samples.append(detail[:300])


class Track:
    """The police track's lessons in order, as each learner walks through them."""

    def __init__(self, plan: kit.CoursePlan, track: str = "police") -> None:
        self.track = track
        self.paths = [
            (module, f"/courses/{kit.COURSE}/{track}/{module}/lessons/{lesson}?note=seen")
            for module in plan.tracks[track]
            for lesson in plan.lessons[module]
        ]

    def next(self, learner: kit.Learner) -> tuple[str, bool]:
        """The learner's next lesson (round again after the last), and whether it is new."""
        _, path = self.paths[learner.cursor % len(self.paths)]
        learner.cursor += 1
        first = path not in learner.seen
        learner.seen.add(path)
        return path, first


def _title(response: httpx.Response) -> str:
    text = response.text
    start, end = text.find("<title>"), text.find("</title>")
    return text[start + 7 : end].strip() if 0 <= start < end else text[:120]


DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


async def _get(
    http: httpx.AsyncClient, url: str, headers: dict[str, str] | None, result: Result
) -> httpx.Response:
    """GET, sent again once if a kept-alive connection closed before any answer (as browsers do).

    Under overload uvicorn's 5 s keep-alive timer can fire before a waiting request is read,
    and a lagging client can reuse a connection the server has just closed.
    """
    try:
        return await http.get(url, headers=headers)
    except DROPPED:
        result.retried += 1
        return await http.get(url, headers=headers)


async def _timed(
    result: Result, call: Callable[[], Awaitable[httpx.Response]], expect: int, since: float
) -> httpx.Response | None:
    try:
        response = await call()
    except Exception as exc:  # a refused or timed-out request is a result, not a crash
        result.fail(type(exc).__name__, repr(exc))
        return None
    if response.status_code != expect:
        result.fail(
            f"HTTP {response.status_code}",
            f"{response.request.method} {response.request.url.path}: {response.status_code} "
            f"{_title(response)}",
        )
        return None
    result.latencies.append(time.perf_counter() - since)
    return response


# ---------------------------------------------------------------------------------------------
# Phases.


async def setup(
    browsers: list[httpx.AsyncClient],
) -> tuple[list[kit.Learner], float, Counter]:
    """Sign up and enrol a learner per browser, 16 at a time (argon2 makes sign-up slow)."""
    org = await kit.organisation_id(browsers[0], "Police")
    learners = [
        kit.Learner(i, f"learner{i}@bench.example.org", http=b) for i, b in enumerate(browsers)
    ]

    async def one(learner: kit.Learner) -> None:
        await kit.sign_up(learner.http, learner, org)
        await kit.enrol(learner.http, learner, "police")

    started = time.perf_counter()
    outcomes = await kit.gather_limited([one(x) for x in learners], 16, 180)
    problems = Counter(type(o).__name__ + ": " + str(o)[:120] for o in outcomes if o is not None)
    ready = [x for x, o in zip(learners, outcomes, strict=True) if o is None]
    return ready, time.perf_counter() - started, problems


async def journey(
    learners: list[kit.Learner], plan: kit.CoursePlan, track: Track
) -> dict[str, Result]:
    """Each learner reads the first module's lessons and takes its quiz; 50 learners at once."""
    kinds = ("lesson view", "quiz start (POST)", "quiz page", "quiz submit (POST)", "quiz result")
    results = {k: Result(k, "httpx") for k in kinds}
    lesson_count = len(plan.lessons[FIRST_MODULE])
    rng = random.Random(1)

    async def one(learner: kit.Learner) -> None:
        h, http = learner.headers, learner.http
        for _ in range(lesson_count):
            path, _first = track.next(learner)
            t = time.perf_counter()
            r = results["lesson view"]
            await _timed(r, partial(_get, http, path, h, r), 200, t)
        base = f"/courses/{kit.COURSE}/police/{FIRST_MODULE}"
        t = time.perf_counter()
        start = await _timed(
            results["quiz start (POST)"],
            lambda: http.post(base + "/quiz", data={"csrf_token": learner.csrf}, headers=h),
            303,
            t,
        )
        if start is None:
            return
        attempt_url = start.headers["location"]
        t = time.perf_counter()
        r = results["quiz page"]
        page = await _timed(r, partial(_get, http, attempt_url, h, r), 200, t)
        if page is None:
            return
        form = kit.parse_quiz(page.text)
        data = {"csrf_token": learner.csrf, **dict(kit.any_valid_answers(form, rng))}
        t = time.perf_counter()
        done = await _timed(
            results["quiz submit (POST)"],
            lambda: http.post(form.action, data=data, headers=h),
            303,
            t,
        )
        if done is None:
            return
        target = done.headers["location"].split("#")[0]
        t = time.perf_counter()
        r = results["quiz result"]
        await _timed(r, partial(_get, http, target, h, r), 200, t)

    started = time.perf_counter()
    outcomes = await kit.gather_limited([one(x) for x in learners], 50, 180)
    elapsed = time.perf_counter() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            results["quiz page"].fail(type(outcome).__name__, str(outcome))
    for r in results.values():
        r.seconds = elapsed
    return results


async def open_loop(
    learners: list[kit.Learner],
    track: Track,
    server: kit.Server,
    rate: float,
    seconds: float,
) -> Result:
    """Lesson views launched on a fixed schedule, whatever the server's pace."""
    total = int(rate * seconds)
    result = Result("lesson view, open loop", "httpx", offered=f"{rate:.0f}/s for {seconds:.0f} s")
    lags: list[float] = []
    first_views = 0

    async def view(learner: kit.Learner, path: str, scheduled: float) -> None:
        call = partial(_get, learner.http, path, learner.headers, result)
        await _timed(result, call, 200, scheduled)

    tasks = []
    cpu0, scpu0, mcpu0 = time.process_time(), server.cpu_seconds(), kit.machine_busy()
    t0 = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(time.perf_counter() - scheduled)
        learner = learners[i % len(learners)]
        path, first = track.next(learner)
        first_views += first
        tasks.append(asyncio.create_task(view(learner, path, scheduled)))
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 60)
    except TimeoutError:
        result.fail("unfinished", "requests still running 60 s after the schedule ended")
    wall = time.perf_counter() - t0
    result.seconds = wall
    result.client_cpu = (time.process_time() - cpu0) / wall
    result.server_cpu = (server.cpu_seconds() - scpu0) / wall
    result.machine_cpu = (kit.machine_busy() - mcpu0) / wall
    result.first_views = first_views
    result.launch_lag_ms = 1000 * max(lags)
    return result


async def closed_loop(
    name: str,
    request: Callable[[int, Result], Awaitable[tuple[httpx.Response, bool]]],
    server: kit.Server,
    concurrency: int,
    seconds: float,
    warmup: float,
    expect: int = 200,
) -> Result:
    """`concurrency` workers each sending the next request as soon as the last one answers."""
    result = Result(name, "httpx", offered=f"{concurrency} concurrent")
    measure_from = time.perf_counter() + warmup
    end = measure_from + seconds
    cap = int(seconds * 20_000)  # a bound on the count, whatever the pace
    counters = {"sent": 0, "first": 0}

    async def worker(w: int) -> None:
        i = w
        while counters["sent"] < cap:
            started = time.perf_counter()
            if started >= end:
                return
            try:
                response, first = await request(i, result)
            except Exception as exc:
                if started >= measure_from:
                    result.fail(type(exc).__name__, repr(exc))
                i += concurrency
                continue
            i += concurrency
            if started < measure_from:
                continue
            counters["sent"] += 1
            counters["first"] += first
            if response.status_code == expect:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.fail(f"HTTP {response.status_code}", _title(response))

    await asyncio.sleep(0)
    workers = [asyncio.create_task(worker(w)) for w in range(concurrency)]
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu0, scpu0, t0 = time.process_time(), server.cpu_seconds(), time.perf_counter()
    mcpu0 = kit.machine_busy()
    await asyncio.wait_for(asyncio.gather(*workers), timeout=warmup + seconds + 60)
    wall = time.perf_counter() - t0
    result.seconds = wall
    result.client_cpu = (time.process_time() - cpu0) / wall
    result.server_cpu = (server.cpu_seconds() - scpu0) / wall
    result.machine_cpu = (kit.machine_busy() - mcpu0) / wall
    result.first_views = counters["first"]
    return result


def wrk_result(
    name: str,
    server: kit.Server,
    url: str,
    args: argparse.Namespace,
    *,
    key: str,
    headers: list[str] | None = None,
    script: Path | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Saturation with wrk: a 1 s warm-up, then the measured run."""
    options = {"headers": headers or [], "script": script, "env": env}
    kit.wrk(url, 1, args.concurrency, **options)  # type: ignore[arg-type]
    scpu0, mcpu0, t0 = server.cpu_seconds(), kit.machine_busy(), time.perf_counter()
    r = kit.wrk(url, args.seconds, args.concurrency, **options)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    result = Result(
        name, "wrk", offered=f"{args.concurrency} connections", seconds=args.seconds, key=key
    )
    result.rps_override = r["rps"]
    result.p_override = (r["p50"], r["p95"], r["p99"])
    result.server_cpu = (server.cpu_seconds() - scpu0) / wall
    result.machine_cpu = (kit.machine_busy() - mcpu0) / wall
    bad = int(r["errors"] + r["non2xx"])
    if bad:
        result.errors["errors or non-2xx"] = bad
    return result


# ---------------------------------------------------------------------------------------------
# One database.


@dataclass
class Report:
    """Everything measured on one database."""

    kind: str
    signups: int = 0
    signup_seconds: float = 0.0
    signup_problems: Counter = field(default_factory=Counter)
    journey: dict[str, Result] = field(default_factory=dict)
    rows: list[Result] = field(default_factory=list)
    bare: dict[str, float] = field(default_factory=dict)
    server_errors: Counter = field(default_factory=Counter)
    progress_rows: dict[str, int] = field(default_factory=dict)


async def measure_async(
    db: kit.Database,
    app: kit.Server,
    plan: kit.CoursePlan,
    args: argparse.Namespace,
    report: Report,
) -> list[kit.Learner]:
    """The phases that use the Python client."""
    track = Track(plan)
    async with kit.clients(app.url, args.learners, 2, timeout=30) as browsers:
        learners, report.signup_seconds, report.signup_problems = await setup(browsers)
        report.signups = len(learners)
        if not learners:
            raise SystemExit(f"{db.kind}: no learner could sign up: {report.signup_problems}")
        report.journey = await journey(learners, plan, track)
        before = _progress(db)
        row = await open_loop(learners, track, app, args.rate, args.open_seconds)
        row.key = "open"
        report.rows.append(row)
        report.progress_rows["open loop"] = _progress(db) - before

    # Saturation: one client (one connection) per worker; each request is a learner's.
    async with kit.clients(app.url, args.concurrency, 1, timeout=30) as workers:

        async def lesson(i: int, r: Result) -> tuple[httpx.Response, bool]:
            learner = learners[i % len(learners)]
            path, first = track.next(learner)
            response = await _get(workers[i % args.concurrency], path, learner.headers, r)
            return response, first

        before = _progress(db)
        row = await closed_loop(
            "lesson view, saturation", lesson, app, args.concurrency, args.seconds, 2
        )
        row.key = "httpx lesson"
        report.rows.append(row)
        report.progress_rows["saturation"] = _progress(db) - before
    return learners


async def _bare_httpx(hello: kit.Server, args: argparse.Namespace) -> Result:
    async with kit.clients(hello.url, args.concurrency, 1, timeout=30) as workers:

        async def hello_world(i: int, r: Result) -> tuple[httpx.Response, bool]:
            return await _get(workers[i % args.concurrency], "/", None, r), False

        row = await closed_loop(
            "bare FastAPI hello world", hello_world, hello, args.concurrency, args.seconds, 2
        )
    row.first_views = None
    row.key = "httpx bare"
    return row


def measure_bare(args: argparse.Namespace) -> list[Result]:
    """The bare app at saturation with each client (once per run)."""
    with tempfile.TemporaryDirectory(prefix="elearn-bench-hello-") as tmp:
        hello = kit.hello_server(Path(tmp))
        try:
            rows = [kit.run_async(_bare_httpx(hello, args))]
            if args.wrk:
                rows.append(
                    wrk_result(
                        "bare FastAPI hello world", hello, hello.url + "/", args, key="wrk bare"
                    )
                )
        finally:
            hello.stop()
    return rows


def _progress(db: kit.Database) -> int:
    return int(db.scalar("SELECT count(*) FROM lessonprogress"))


def measure(kind: str, plan: kit.CoursePlan, args: argparse.Namespace) -> Report:
    """Every phase on a fresh database of this kind."""
    report = Report(kind)
    with kit.database(kind) as db:
        app = kit.elearn_server(db)
        try:
            learners = kit.run_async(measure_async(db, app, plan, args, report))
            if args.wrk:
                track = Track(plan)
                first_lesson = track.paths[0][1]
                report.rows.append(
                    wrk_result(
                        "lesson view, one learner, one lesson",
                        app,
                        app.url + first_lesson,
                        args,
                        headers=[f"Cookie: {learners[0].cookie}"],
                        key="wrk lesson",
                    )
                )
            if args.wrk and args.rotating:
                track = Track(plan)
                first_lesson = track.paths[0][1]
                views = db.tmp / "views.tsv"
                views.write_text(
                    "".join(f"{x.cookie}\t{path}\n" for _, path in track.paths for x in learners)
                )
                before = _progress(db)
                report.rows.append(
                    wrk_result(
                        f"lesson view, {len(learners)} learners x {len(track.paths)} lessons",
                        app,
                        app.url + first_lesson,
                        args,
                        script=kit.HERE / "lesson_views.lua",
                        env={"LESSON_VIEWS": str(views)},
                        key="wrk rotating",
                    )
                )
                report.progress_rows["wrk rotating"] = _progress(db) - before
        finally:
            app.stop()
            report.server_errors = app.errors()
    return report


# ---------------------------------------------------------------------------------------------
# Output.


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


HEADER = (
    "| scenario | client | load | req/s | % of bare (same client) | p50 ms | p95 ms | p99 ms "
    "| first views | client CPU | server CPU | whole machine CPU | failures |\n"
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def _row(r: Result, bare: dict[str, float], new: str = "") -> str:
    p50, p95, p99 = r.percentiles()
    share = f"{100 * r.rps / bare[r.client]:.0f}%" if bare.get(r.client) else ""
    fails = ", ".join(f"{k} x{v}" for k, v in r.errors.items()) or "0"
    if r.retried:
        fails += f" ({r.retried} sent again after a dropped keep-alive connection)"
    if not new and r.first_views is not None:
        new = str(r.first_views)
    return (
        f"| {r.name} | {r.client} | {r.offered} | {r.rps:,.0f} | {share} | {p50:.1f} | "
        f"{p95:.1f} | {p99:.1f} | {new} | {_pct(r.client_cpu)} | {_pct(r.server_cpu)} | "
        f"{_pct(r.machine_cpu)} | {fails} |"
    )


def print_report(report: Report, bare: dict[str, float], args: argparse.Namespace) -> None:
    """Markdown tables for one database."""
    print(f"\n## {report.kind}\n")
    problems = "; ".join(f"{k} x{v}" for k, v in report.signup_problems.items()) or "none"
    print(
        f"Setup: {report.signups} of {args.learners} learners signed up and enrolled on the "
        f"police track in {report.signup_seconds:.1f} s (16 at a time); problems: {problems}.\n"
    )
    print(
        "Journey: each learner reads the first module's lessons and takes its quiz "
        "(50 learners at a time, closed loop, httpx).\n"
    )
    print("| request | count | p50 ms | p95 ms | p99 ms | failures |")
    print("|---|---:|---:|---:|---:|---|")
    for r in report.journey.values():
        p50, p95, p99 = r.percentiles()
        fails = ", ".join(f"{k} x{v}" for k, v in r.errors.items()) or "0"
        if r.retried:
            fails += f" ({r.retried} sent again after a dropped keep-alive connection)"
        print(f"| {r.name} | {r.ok} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {fails} |")
    print()
    print(HEADER)
    for r in report.rows:
        new = str(report.progress_rows.get("wrk rotating", "")) if r.key == "wrk rotating" else ""
        print(_row(r, bare, new))
    opened = next((r for r in report.rows if r.key == "open"), None)
    if opened is not None and opened.launch_lag_ms is not None:
        print(
            f"\nOpen loop: {opened.ok} of {int(args.rate * args.open_seconds)} views answered "
            f"200; the latest launch was {opened.launch_lag_ms:.1f} ms behind its schedule "
            "(latency is counted from the scheduled time)."
        )
    written = ", ".join(f"{k}: {v}" for k, v in report.progress_rows.items())
    print(f"\nLesson progress rows written (read from the database): {written}.")
    samples = [s for r in [*report.journey.values(), *report.rows] for s in r.samples]
    if samples:
        print("\nExamples of failures:\n")
        for s in samples[:10]:
            print(f"- {s}")
    if report.server_errors:
        print("\nServer error log (grouped):\n")
        for line, n in report.server_errors.most_common(10):
            print(f"- {n} x `{line}`")
    else:
        print("\nServer error log: no errors.")


def main() -> None:
    """Run every database and print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200, help="open-loop lesson views a second")
    parser.add_argument("--open-seconds", type=float, default=20)
    parser.add_argument("--seconds", type=int, default=10, help="each saturation run")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--no-wrk", dest="wrk", action="store_false")
    parser.add_argument(
        "--rotating", action="store_true", help="also wrk over every learner's lessons"
    )
    args = parser.parse_args()
    if not 1 <= args.learners <= 2000 or not 1 <= args.rate * args.open_seconds <= 100_000:
        parser.error("learners up to 2,000 and at most 100,000 open-loop views")
    if not 1 <= args.seconds <= 120 or not 1 <= args.concurrency <= 1000:
        parser.error("saturation runs of 1 to 120 s with 1 to 1,000 workers")
    if args.wrk and not kit.have_wrk():
        print("wrk is not installed (apt-get install -y wrk): no wrk rows", file=sys.stderr)
        args.wrk = False
    kinds = list(args.databases)
    if "postgresql" in kinds and not kit.postgres_reachable():
        print(f"PostgreSQL at {kit.PG_SERVER} is not reachable: skipping it", file=sys.stderr)
        kinds.remove("postgresql")
    plan = kit.course_plan()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    bare_rows = measure_bare(args)
    reports = [measure(kind, plan, args) for kind in kinds]
    bare = {r.client: r.rps for r in bare_rows}
    print(
        f"# {args.learners} learners, one uvicorn process, client on the same 2-core machine "
        f"({time.monotonic() - started:.0f} s in all; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after)\n"
    )
    print("Bare FastAPI app (`bench/hello_app.py`), measured once in this run:\n")
    print(HEADER)
    for r in bare_rows:
        print(_row(r, bare))
    for report in reports:
        print_report(report, bare, args)
    print("\n## Summary\n")
    columns = [("httpx lesson", "httpx", "httpx saturation: lesson req/s (% of bare)")]
    if args.wrk:
        columns.append(("wrk lesson", "wrk", "wrk: lesson req/s (% of bare)"))
    if args.wrk and args.rotating:
        columns.append(("wrk rotating", "wrk", "wrk: rotating learners (% of bare)"))
    print(
        f"| database | open loop {args.rate:.0f}/s: answered req/s | p50 / p95 / p99 ms | "
        + " | ".join(c[2] for c in columns)
        + " |"
    )
    print("|---|---:|---|" + "---|" * len(columns))
    for report in reports:
        rows = {r.key: r for r in report.rows}
        opened = rows.get("open")
        cells = (
            ["", ""]
            if opened is None
            else [f"{opened.rps:.0f}", " / ".join(f"{v:.0f}" for v in opened.percentiles())]
        )
        for key, client, _ in columns:
            lesson = rows.get(key)
            cells.append(
                ""
                if lesson is None or not bare.get(client)
                else f"{lesson.rps:,.0f} ({100 * lesson.rps / bare[client]:.0f}%)"
            )
        print(f"| {report.kind} | " + " | ".join(cells) + " |")
    failed = [r.kind for r in reports if any(x.errors for x in [*r.rows, *r.journey.values()])]
    if failed:
        print(f"\nFailures were seen on: {', '.join(failed)}.")


if __name__ == "__main__":
    main()
