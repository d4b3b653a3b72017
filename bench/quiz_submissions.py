"""1,000 quiz submissions at once, each sent twice, on SQLite and PostgreSQL: none lost or doubled.

For each database: a fresh database (PostgreSQL: created for the run, migrated with
`elearn db upgrade`, dropped WITH (FORCE) afterwards), demo organisations from `elearn demo`,
and `python -m elearn serve` on a free loopback port. Then:

1. 100 learners sign up through the form and enrol on the police, education and
   youth-justice tracks (between them, all 10 modules of the course);
2. each learner reads the lessons of the first module (so a passed quiz there completes
   the module, and the completion is written in the same transaction as the submission);
3. each learner starts one attempt at each of the 10 modules (POST .../quiz, then the
   questions page, whose form is parsed): 1,000 open attempts;
4. all 1,000 submissions are sent at once, each with a duplicate: for even attempts the
   duplicate is sent at the same moment, for odd ones right after the first answer. First
   modules' attempts are answered correctly; the others with any valid choice;
5. the database is read directly (SQLAlchemy, not the app): exactly 1,000 submitted
   attempts for these learners, every one of ours submitted with the answers we sent,
   no extra attempts, one module completion per passed first-module attempt and no more.

Exits with status 1 when any check fails on any database.

    .venv/bin/python bench/quiz_submissions.py [--databases sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import loadkit as kit  # noqa: E402

READ_MODULE = "understanding-trauma"
DOMAIN = "quiz.bench.example.org"


@dataclass
class Attempt:
    """One open attempt and the answers it will be sent."""

    learner: kit.Learner
    module: str
    attempt_id: int
    action: str
    answers: dict[str, list[str]]


@dataclass
class Outcome:
    """What one database run found."""

    kind: str
    learners: int = 0
    attempts: int = 0
    setup_seconds: float = 0.0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    checks: list[tuple[str, str, bool]] = field(default_factory=list)
    server_errors: Counter[str] = field(default_factory=Counter)
    double_start: str = ""

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(passed for _, _, passed in self.checks)

    def check(self, what: str, found: object, passed: bool) -> None:
        """Record a check."""
        self.checks.append((what, str(found), passed))


# ---------------------------------------------------------------------------------------------
# Preparing 1,000 open attempts.


async def prepare(
    browsers: list[httpx.AsyncClient], plan: kit.CoursePlan, outcome: Outcome
) -> list[Attempt]:
    """Sign learners up, enrol them, read one module, and start an attempt per module."""
    anon = browsers[0]
    org = await kit.organisation_id(anon, "Police")
    learners = [kit.Learner(i, f"learner{i}@{DOMAIN}", http=b) for i, b in enumerate(browsers)]
    tracks = ("police", "education", "youth-justice")

    async def join(learner: kit.Learner) -> None:
        await kit.sign_up(learner.http, learner, org)
        for track in tracks:
            await kit.enrol(learner.http, learner, track)
        for lesson in plan.lessons[READ_MODULE]:
            path = f"/courses/{kit.COURSE}/police/{READ_MODULE}/lessons/{lesson}?note=seen"
            response = await learner.http.get(path, headers=learner.headers)
            if response.status_code != 200:
                raise kit.Failed(f"lesson {path}: {response.status_code}")

    started = time.perf_counter()
    results = await kit.gather_limited([join(x) for x in learners], 16, 180)
    failures = [r for r in results if r is not None]
    if failures:
        raise SystemExit(f"{outcome.kind}: {len(failures)} learners failed to join: {failures[0]}")
    modules = sorted({m for t in tracks for m in plan.tracks[t]})
    rng = random.Random(7)

    async def start(learner: kit.Learner, module: str) -> Attempt:
        base = f"/courses/{kit.COURSE}/{plan.home_track(module)}/{module}"
        response = await learner.http.post(
            base + "/quiz", data={"csrf_token": learner.csrf}, headers=learner.headers
        )
        if response.status_code != 303:
            raise kit.Failed(f"starting {base}: {response.status_code}")
        location = response.headers["location"]
        page = await learner.http.get(location, headers=learner.headers)
        if page.status_code != 200:
            raise kit.Failed(f"{location}: {page.status_code}")
        form = kit.parse_quiz(page.text)
        if module == READ_MODULE:  # right answers: the attempt passes and completes the module
            answers = {qid: plan.right[module][qid] for qid in form.questions}
        else:
            answers = {k[2:]: [v] for k, v in kit.any_valid_answers(form, rng)}
        attempt_id = int(location.rstrip("/").rsplit("/", 1)[1])
        return Attempt(learner, module, attempt_id, form.action, answers)

    jobs = [start(x, m) for x in learners for m in modules]
    attempts = await kit.gather_limited(jobs, 50, 240)
    failed = [a for a in attempts if not isinstance(a, Attempt)]
    if failed:
        raise SystemExit(f"{outcome.kind}: {len(failed)} attempts failed to start: {failed[0]}")
    outcome.setup_seconds = time.perf_counter() - started
    outcome.learners = len(learners)
    outcome.attempts = len(attempts)
    return attempts


# ---------------------------------------------------------------------------------------------
# Sending every submission twice.


async def submit_all(attempts: list[Attempt], outcome: Outcome, seconds: float) -> None:
    """Send every submission and its duplicate; record statuses and where they lead."""
    locations: dict[int, list[str]] = {a.attempt_id: [] for a in attempts}

    async def post(a: Attempt) -> None:
        data = [("csrf_token", a.learner.csrf)]
        data += [(f"q-{qid}", v) for qid, values in a.answers.items() for v in values]
        t = time.perf_counter()
        try:
            response = await a.learner.http.post(
                a.action, data=dict(_multi(data)), headers=a.learner.headers
            )
        except Exception as exc:
            outcome.statuses[type(exc).__name__] += 1
            outcome.bad.append(f"attempt {a.attempt_id}: {exc!r}"[:300])
            return
        outcome.latencies.append(time.perf_counter() - t)
        outcome.statuses[str(response.status_code)] += 1
        if response.status_code >= 400:
            title = re.search(r"<title>(.*?)</title>", response.text, re.S)
            outcome.bad.append(
                f"attempt {a.attempt_id} ({a.module}): {response.status_code} "
                f"{title.group(1).strip() if title else response.text[:200]!r}"
            )
        locations[a.attempt_id].append(response.headers.get("location", ""))

    async def twice(k: int, a: Attempt) -> None:
        if k % 2 == 0:
            await asyncio.gather(post(a), post(a))  # a double click
        else:
            await post(a)  # a retry after the answer came back
            await post(a)

    started = time.perf_counter()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(twice(k, a) for k, a in enumerate(attempts))), timeout=seconds
        )
    except TimeoutError:
        outcome.bad.append(f"not every submission was answered within {seconds:.0f} s")
    outcome.elapsed = time.perf_counter() - started
    mismatched = [
        i
        for i, found in locations.items()
        if len(found) != 2 or any(not x.endswith(f"/quiz/{i}#results") for x in found)
    ]
    outcome.check(
        "both POSTs of every pair redirected to that attempt's results",
        f"{len(attempts) - len(mismatched)} of {len(attempts)} pairs",
        not mismatched,
    )


def _multi(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    merged: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if key in merged:
            old = merged[key]
            merged[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            merged[key] = value
    return merged


# ---------------------------------------------------------------------------------------------
# Reading the database directly.


def verify(db: kit.Database, attempts: list[Attempt], outcome: Outcome, before: int) -> None:
    """Count and compare what the database holds, without going through the app."""
    mine = f"SELECT id FROM \"user\" WHERE email LIKE '%@{DOMAIN}'"
    submitted = db.scalar(
        f"SELECT count(*) FROM quizattempt WHERE submitted_at IS NOT NULL AND user_id IN ({mine})"
    )
    total = db.scalar(f"SELECT count(*) FROM quizattempt WHERE user_id IN ({mine})")
    everyone = db.scalar("SELECT count(*) FROM quizattempt WHERE submitted_at IS NOT NULL")
    expected = len(attempts)
    outcome.check(
        "submitted attempts (submitted_at not null) for these learners",
        submitted,
        submitted == expected,
    )
    outcome.check(
        "submitted attempts added in the whole table",
        everyone - before,
        everyone - before == expected,
    )
    outcome.check("attempts for these learners (no extra ones)", total, total == expected)
    rows = {
        row[0]: row
        for row in db.rows(
            f"SELECT id, submitted_at, answers, passed FROM quizattempt WHERE user_id IN ({mine})"
        )
    }
    lost = [a.attempt_id for a in attempts if rows.get(a.attempt_id, (0, None))[1] is None]
    outcome.check("our attempts left unsubmitted (lost)", len(lost), not lost)
    changed = [
        a.attempt_id
        for a in attempts
        if a.attempt_id in rows and json.loads(rows[a.attempt_id][2] or "{}") != a.answers
    ]
    outcome.check("attempts whose stored answers differ from those sent", len(changed), not changed)
    passed_first = {
        a.attempt_id
        for a in attempts
        if a.module == READ_MODULE and a.attempt_id in rows and rows[a.attempt_id][3]
    }
    outcome.check(
        f"first-module attempts passed (answered correctly, {READ_MODULE})",
        f"{len(passed_first)} of {len(attempts) // 10}",
        len(passed_first) == len(attempts) // 10,
    )
    completions = db.rows(
        "SELECT user_id, module_id, module_version, attempt_id FROM modulecompletion "
        f"WHERE user_id IN ({mine})"
    )
    keys = Counter((u, m, v) for u, m, v, _ in completions)
    outcome.check(
        "module completions (one per passed first-module attempt)",
        len(completions),
        len(completions) == len(passed_first)
        and {c[3] for c in completions} == passed_first
        and all(n == 1 for n in keys.values()),
    )
    tracks = db.scalar(f"SELECT count(*) FROM trackcompletion WHERE user_id IN ({mine})")
    outcome.check("track completions (none due)", tracks, tracks == 0)


async def double_start(learners: list[kit.Learner]) -> list[int]:
    """Not part of the pass/fail: two 'start quiz' POSTs at once from 20 learners."""
    base = f"/courses/{kit.COURSE}/police/{READ_MODULE}/quiz"

    async def start(x: kit.Learner) -> str:
        r = await x.http.post(base, data={"csrf_token": x.csrf}, headers=x.headers)
        return r.headers.get("location", str(r.status_code))

    found = []
    for x in learners[:20]:
        pair = await asyncio.wait_for(asyncio.gather(start(x), start(x)), timeout=30)
        found.append(len(set(pair)))
    return found


# ---------------------------------------------------------------------------------------------


def run(kind: str, plan: kit.CoursePlan, args: argparse.Namespace) -> Outcome:
    """One database: prepare, submit, verify."""
    outcome = Outcome(kind)
    with kit.database(kind) as db:
        app = kit.elearn_server(db)
        try:

            async def go() -> None:
                async with kit.clients(app.url, args.learners, 25, timeout=120) as browsers:
                    attempts = await prepare(browsers, plan, outcome)
                    before = int(
                        db.scalar("SELECT count(*) FROM quizattempt WHERE submitted_at IS NOT NULL")
                    )
                    await submit_all(attempts, outcome, args.timeout)
                    verify(db, attempts, outcome, before)
                    mine = f"SELECT id FROM \"user\" WHERE email LIKE '%@{DOMAIN}'"
                    pre = db.scalar(f"SELECT count(*) FROM quizattempt WHERE user_id IN ({mine})")
                    learners = list({a.learner.number: a.learner for a in attempts}.values())
                    pairs = await double_start(learners)
                    post = db.scalar(f"SELECT count(*) FROM quizattempt WHERE user_id IN ({mine})")
                    outcome.double_start = (
                        f"{len(pairs)} learners each sent two 'start quiz' POSTs at once: "
                        f"{post - pre} attempts created, {sum(n == 2 for n in pairs)} learners "
                        "were sent to two different attempts"
                    )

            kit.run_async(go())
        finally:
            app.stop()
            outcome.server_errors = app.errors()
    return outcome


def main() -> None:
    """Run every database, print the tables, exit 1 if a check failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--learners", type=int, default=100, help="each takes all 10 quizzes")
    parser.add_argument("--timeout", type=float, default=120, help="for all submissions")
    args = parser.parse_args()
    if not 1 <= args.learners <= 1000 or not 1 <= args.timeout <= 600:
        parser.error("1 to 1,000 learners, a timeout of 1 to 600 s")
    kinds = list(args.databases)
    if "postgresql" in kinds and not kit.postgres_reachable():
        print(f"PostgreSQL at {kit.PG_SERVER} is not reachable: skipping it", file=sys.stderr)
        kinds.remove("postgresql")
    plan = kit.course_plan()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    outcomes = [run(kind, plan, args) for kind in kinds]
    print(
        f"# {args.learners * 10:,} quiz submissions, each sent twice "
        f"({time.monotonic() - started:.0f} s in all; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after)\n"
    )
    print(
        "| database | attempts | POSTs | elapsed s | POSTs/s | p50 ms | p95 ms | p99 ms "
        "| responses | submitted rows | result |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for o in outcomes:
        p50, p95, p99 = kit.summary_ms(o.latencies)
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(o.statuses.items()))
        submitted = next((found for what, found, _ in o.checks if what.startswith("submitted")), "")
        print(
            f"| {o.kind} | {o.attempts:,} | {sum(o.statuses.values()):,} | {o.elapsed:.1f} | "
            f"{sum(o.statuses.values()) / o.elapsed if o.elapsed else 0:,.0f} | {p50:.0f} | "
            f"{p95:.0f} | {p99:.0f} | {statuses} | {submitted} | "
            f"{'**pass**' if o.ok else '**FAIL**'} |"
        )
    for o in outcomes:
        print(f"\n## {o.kind}\n")
        print(
            f"{o.learners} learners, {o.attempts:,} open attempts prepared in "
            f"{o.setup_seconds:.1f} s (sign-up, enrolment, lessons, starting each quiz).\n"
        )
        print("| check | found | ok |")
        print("|---|---:|---|")
        for what, found, passed in o.checks:
            print(f"| {what} | {found} | {'yes' if passed else '**no**'} |")
        if o.bad:
            print("\nResponses other than 2xx/3xx, and client errors:\n")
            for line in o.bad[:20]:
                print(f"- {line}")
            if len(o.bad) > 20:
                print(f"- ... and {len(o.bad) - 20} more")
        else:
            print("\nEvery response was 2xx/3xx.")
        if o.server_errors:
            print("\nServer error log (grouped):\n")
            for line, n in o.server_errors.most_common(10):
                print(f"- {n} x `{line}`")
        else:
            print("\nServer error log: no errors.")
        if o.double_start:
            print(f"\nNot checked, for information: {o.double_start}.")
    if not outcomes or not all(o.ok for o in outcomes):
        print("\nFAILED: see the checks above.", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
