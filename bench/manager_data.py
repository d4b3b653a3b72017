"""Bench data for the managers' views: a 20-module course and a large, realistic partnership.

    .venv/bin/python bench/manager_data.py --database-url URL --courses-dir DIR \\
        [--learners 50000] [--organisations 200] [--attempts 1000000] [--seed 1]

1. Writes a course of 20 modules into DIR/bench-manager-training (each a copy of the shipped
   module *Understanding trauma* under a new id and title; its police variants kept for the
   one track, `all-staff`, that lists all 20) and checks it with `elearn courses validate`.
2. Fills the database, which must already be migrated and hold the partnerships
   (`elearn db upgrade`, `elearn partnerships load`), with SQLAlchemy Core bulk inserts on
   SQLite (executemany, 10,000 rows at a time) and COPY on PostgreSQL:

   - organisations spread over the partnerships (100 each by default) and over four sectors
     (education 45%, police 25%, youth justice 20%, health 10%); the first one, a police
     force, holds the known team of exactly 500 people; the others about 250 people each,
     in teams of about 50;
   - learners, shuffled over the teams (so a team's people are spread through the tables,
     as sign-ups over time would leave them), each with a name, an email and a password hash;
   - progress that goes through the track in order: 30% of learners finished all 20 modules,
     8% started nothing, the rest finished 1 to 19 (about 60% of learner x module pairs in
     all), completion dates spread over the last 18 months; every completed module has a
     passing quiz attempt, a completion and a "viewed" row for each of its lessons, as the
     app records them; 70% of unfinished learners are part-way through their next module;
   - quiz attempts: one passing attempt per completion, the rest of `--attempts` spread as
     failed attempts over the learners with any progress; every attempt is submitted, with
     answers and the review exactly as the app stores them (built from the real questions);
   - the whole track required of every team (due dates from 4 months ago to 5 months
     ahead, a third of the teams with recertification every 12 months);
   - a manager of the 500-person team and an admin of the first partnership, with a known
     password (printed).

Prints the time each part took. PostgreSQL is VACUUM ANALYZEd afterwards (what autovacuum
would do shortly after such a load); SQLite is left as the app leaves it (no ANALYZE).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import secrets
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from elearn.content.schema import Module, Question  # noqa: E402
from elearn.services import quiz  # noqa: E402
from elearn.services.passwords import hash_password  # noqa: E402

TEMPLATE = ROOT / "courses" / "trauma-informed-practice" / "modules" / "understanding-trauma.yaml"
COURSE_ID = "bench-manager-training"
TRACK_ID = "all-staff"
MODULES = 20
PASSWORD = "amber kettle window pine"  # the manager's and the admin's
MANAGER_EMAIL = "manager@bench-managers.example"
ADMIN_EMAIL = "admin@bench-managers.example"
BIG_TEAM = "Response and custody (bench, 500 people)"
TEAM_SIZE = 50
BATCH = 10_000


def _words(text: str) -> tuple[str, ...]:
    """Words separated by spaces ("_" stands for a space inside one)."""
    return tuple(w.replace("_", " ") for w in text.split())


SECTORS = ["education"] * 9 + ["police"] * 5 + ["youth-justice"] * 4 + ["health"] * 2
SECTOR_NAMES = {
    "education": ("Academy", "Primary School", "College", "High School"),
    "police": ("Police: {} division",),
    "youth-justice": ("Youth Justice Service", "Youth Offending Team"),
    "health": ("NHS Trust", "Health Centre"),
}
PLACES = _words(
    "Arnold Beeston Bingham Bulwell Carlton Clifton Eastwood Hucknall Keyworth Mansfield "
    "Newark Ollerton Radford Retford Ruddington Sneinton Southwell Worksop Ashby Birstall "
    "Blaby Coalville Enderby Hinckley Loughborough Lutterworth Melton Oadby Syston Wigston"
)
TEAM_NAMES = (
    "Pastoral team",
    "Inclusion team",
    "Response team",
    "Neighbourhood team",
    "Case management",
    "Prevention team",
    "Safeguarding team",
    "Early help",
    "Custody suite",
    "Teaching staff",
)
FIRST = _words(
    "Aisha Alex Amelia Ben Charlie Chloe Daniel Deepa Eleanor Ewan Fatima Freya George Grace "
    "Harry Imran Isla Jack Jasmine Kai Leah Liam Maya Mohammed Noah Olivia Oscar Priya Rhys "
    "Ruby Sam Sophie Tariq Theo Zara Zoë Łukasz Siobhán José Anaïs"
)
LAST = _words(
    "Ahmed Baker Bennett Chen Clarke Davies Evans Fisher Green Hall Hughes Hussain Jackson "
    "Johnson Khan Kowalski Lewis Martin Mistry Morgan Nowak Patel Price Roberts Robinson Shaw "
    "Singh Smith Taylor Thomas Turner Walker Ward Watson White Williams Wilson Wright Young "
    "O'Brien Ní_Bhriain"
)


# ---------------------------------------------------------------------------------------------
# The course.


def write_course(courses_dir: Path) -> Path:
    """Write the bench course (20 copies of one module, one track listing them all)."""
    import yaml

    course = courses_dir / COURSE_ID
    (course / "modules").mkdir(parents=True, exist_ok=True)
    for old in (course / "modules").glob("*.yaml"):
        old.unlink()
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines(keepends=True)
    kept: list[str] = []
    skipping = False
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if skipping and line.strip() and indent <= 6:
            skipping = False
        if skipping:
            continue
        if re.fullmatch(r" {6}(education|youth-justice):\n", line):
            skipping = True  # only the police variants are kept, for the one track
            continue
        kept.append(line.replace("      police:\n", f"      {TRACK_ID}:\n"))
    body = "".join(kept)
    ids = [f"bench-module-{n:02d}" for n in range(1, MODULES + 1)]
    for n, module_id in enumerate(ids, start=1):
        copy = body.replace("id: understanding-trauma", f"id: {module_id}", 1).replace(
            "title: Understanding trauma", f"title: Bench module {n:02d} - understanding trauma", 1
        )
        (course / "modules" / f"{module_id}.yaml").write_text(copy, encoding="utf-8")
    (course / "course.yaml").write_text(
        yaml.safe_dump(
            {
                "id": COURSE_ID,
                "title": "Bench: required training for managers' views",
                "summary": "Twenty copies of one module, generated for a benchmark.",
                "practice_level": "informed",
                "partnerships": ["nottinghamshire", "leicestershire"],
                "tracks": [
                    {
                        "id": TRACK_ID,
                        "title": "All staff",
                        "summary": "Every module, for everyone.",
                        "modules": ids,
                    }
                ],
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    return course


def validate_course(courses_dir: Path) -> str:
    """`elearn courses validate DIR`, as an author would run it; raises on problems."""
    done = subprocess.run(
        [sys.executable, "-m", "elearn", "courses", "validate", str(courses_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"the bench course does not validate:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


@dataclass(frozen=True)
class ModuleInfo:
    """What the data needs of one module."""

    id: str
    sha256: str
    lessons: tuple[str, ...]
    attempts: dict[bool, list[tuple[int, str, str, str, int]]]  # passed -> attempt templates


def _wrong(question: Question) -> list[str]:
    right = quiz.right_keys(question)
    if question.kind == "true_false":
        return ["false" if right == ["true"] else "true"]
    assert question.options is not None
    wrong = [str(i) for i, o in enumerate(question.options) if not o.correct]
    if question.kind == "single":
        return wrong[:1]
    return right[:-1] if len(right) > 1 else sorted(right + wrong[:1])


def _attempt_templates(
    module: Module, rng: random.Random
) -> dict[bool, list[tuple[int, str, str, str, int]]]:
    """Submitted attempts as the app stores them: (seed, questions, answers, review, score).

    Three draws for each possible number of right answers, judged by the app's own code.
    """
    assert module.quiz is not None
    shim = SimpleNamespace(model=module)
    found: dict[bool, list[tuple[int, str, str, str, int]]] = {True: [], False: []}
    count = len(module.quiz.questions)
    for right_count in range(count + 1):
        for _ in range(3):
            seed = rng.randrange(2**31)
            ids = [q.id for q in module.quiz.questions]
            draw = random.Random(seed)
            if module.quiz.draw is not None and module.quiz.draw < len(ids):
                ids = draw.sample(ids, module.quiz.draw)
            elif module.quiz.shuffle:
                draw.shuffle(ids)
            attempt = SimpleNamespace(questions=json.dumps(ids), seed=seed)
            shown = quiz.shown_questions(shim, attempt)  # type: ignore[arg-type]
            right_ones = set(rng.sample(range(len(shown)), min(right_count, len(shown))))
            checked = {
                s.question.id: quiz.right_keys(s.question)
                if i in right_ones
                else _wrong(s.question)
                for i, s in enumerate(shown)
            }
            review = [
                {
                    "number": s.number,
                    "prompt": s.question.prompt,
                    "answered": [c.text for c in s.choices if c.key in checked[s.question.id]],
                    "correct": quiz.is_correct(s.question, checked[s.question.id]),
                    "feedback": quiz.feedback_for(s.question, checked[s.question.id]),
                    "explanation": s.question.explanation,
                }
                for s in shown
            ]
            right = sum(item["correct"] for item in review)
            score = round(100 * right / len(shown))
            passed = score >= module.quiz.pass_mark
            found[passed].append(
                (seed, json.dumps(ids), json.dumps(checked), json.dumps(review), score)
            )
    return found


def course_modules(course_dir: Path, rng: random.Random) -> list[ModuleInfo]:
    """The bench course's modules in track order, read with the project's loader."""
    from elearn.content.loader import load

    result = load([course_dir])
    if result.errors:
        raise SystemExit(f"the bench course has errors: {result.errors[0]}")
    loaded = next(c for c in result.courses if c.model.id == COURSE_ID)
    track = next(t for t in loaded.model.tracks if t.id == TRACK_ID)
    modules = []
    for module_id in track.modules:
        m = loaded.modules[module_id]
        modules.append(
            ModuleInfo(
                module_id,
                m.source.sha256,
                tuple(lesson.id for lesson in m.model.lessons),
                _attempt_templates(m.model, rng),
            )
        )
    return modules


# ---------------------------------------------------------------------------------------------
# Writing rows.


class Sink:
    """Rows into tables: COPY on PostgreSQL, executemany in batches on SQLite."""

    def __init__(self, engine: Any) -> None:
        self.pg = engine.dialect.name == "postgresql"
        self.counts: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        if self.pg:
            self.raw = engine.raw_connection()
            self.pgconn = self.raw.driver_connection
        else:
            self.conn = engine.connect()

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Append rows to a table (not committed yet)."""
        if not rows:
            return
        started = time.perf_counter()
        if self.pg:
            names = ", ".join(f'"{c}"' for c in columns)
            with (
                self.pgconn.cursor() as cur,
                cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            from sqlmodel import SQLModel

            target = SQLModel.metadata.tables[table]
            for i in range(0, len(rows), BATCH):
                self.conn.execute(
                    target.insert(),
                    [dict(zip(columns, r, strict=True)) for r in rows[i : i + BATCH]],
                )
        self.counts[table] += len(rows)
        self.seconds[table] += time.perf_counter() - started

    def commit(self) -> None:
        """Commit what was written."""
        if self.pg:
            self.pgconn.commit()
        else:
            self.conn.commit()

    def close(self) -> None:
        """Give the connection back."""
        if self.pg:
            self.raw.close()
        else:
            self.conn.close()


def _next_ids(engine: Any, tables: Iterable[str]) -> dict[str, int]:
    found = {}
    with engine.connect() as conn:
        for table in tables:
            found[table] = int(conn.execute(text(f'SELECT max(id) FROM "{table}"')).scalar() or 0)
    return {t: n + 1 for t, n in found.items()}


# ---------------------------------------------------------------------------------------------
# The data.

ORG_COLS = ("id", "partnership_id", "name", "sector", "signup", "email_domains")
TEAM_COLS = ("id", "organisation_id", "name")
USER_COLS = (
    "id",
    "email",
    "name",
    "password_hash",
    "role",
    "partnership_id",
    "organisation_id",
    "team_id",
    "created_at",
    "password_changed_at",
)
ASSIGN_COLS = (
    "id",
    "partnership_id",
    "course_id",
    "track_id",
    "module_id",
    "team_id",
    "organisation_id",
    "sector",
    "due_on",
    "recertify_months",
    "created_by_id",
    "created_at",
)
ENROL_COLS = ("id", "user_id", "course_id", "track_id", "started_at")
ATTEMPT_COLS = (
    "id",
    "user_id",
    "course_id",
    "module_id",
    "module_version",
    "content_hash",
    "seed",
    "questions",
    "started_at",
    "submitted_at",
    "answers",
    "review",
    "score",
    "passed",
)
DONE_COLS = (
    "id",
    "user_id",
    "course_id",
    "module_id",
    "module_version",
    "content_hash",
    "attempt_id",
    "completed_at",
)
LESSON_COLS = ("id", "user_id", "course_id", "module_id", "lesson_id", "state", "at")
TRACK_DONE_COLS = ("id", "user_id", "course_id", "track_id", "completed_at")
SERIAL_TABLES = (
    "organisation",
    "team",
    "user",
    "assignment",
    "enrolment",
    "quizattempt",
    "modulecompletion",
    "lessonprogress",
    "trackcompletion",
)


@dataclass
class Plan:
    """Who is where and how far each learner has got (before any row is written)."""

    organisations: list[tuple[int, str, str, str]]  # id, partnership, name, sector
    teams: list[tuple[int, int, str, int]]  # id, organisation id, name, size
    seats: list[int]  # team id per learner, in user id order
    done: list[int]  # modules completed per learner
    partway: list[int]  # lessons viewed of the next module (0: none)
    failed: list[int]  # failed attempts per learner


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]+", "", plain.lower())


def _org_name(rng: random.Random, sector: str, number: int) -> str:
    place = PLACES[number % len(PLACES)]
    kind = rng.choice(SECTOR_NAMES[sector])
    if "{}" in kind:
        return f"{place} {kind.format(f'Area {number}')}"
    return f"{place} {kind} {number}"


def make_plan(
    rng: random.Random,
    partnerships: list[str],
    ids: dict[str, int],
    *,
    learners: int,
    organisations: int,
    attempts: int,
    big_team: int,
) -> Plan:
    """Organisations, teams, seats and progress, drawn from the seeded generator."""
    orgs: list[tuple[int, str, str, str]] = []
    for n in range(organisations):
        partnership = partnerships[n % len(partnerships)]
        position = n // len(partnerships)
        sector = "police" if n == 0 else SECTORS[position % len(SECTORS)]
        orgs.append((ids["organisation"] + n, partnership, _org_name(rng, sector, n + 1), sector))
    teams: list[tuple[int, int, str, int]] = []
    team_id = ids["team"]
    teams.append((team_id, orgs[0][0], BIG_TEAM, big_team))
    team_id += 1
    rest = learners - big_team
    others = orgs[1:] or orgs
    for i, org in enumerate(others):
        people = rest // len(others) + (1 if i < rest % len(others) else 0)
        count = max(1, math.ceil(people / TEAM_SIZE))
        names = rng.sample(TEAM_NAMES, min(count, len(TEAM_NAMES)))
        for t in range(count):
            size = people // count + (1 if t < people % count else 0)
            name = names[t] if t < len(names) else f"Team {t + 1}"
            teams.append((team_id, org[0], name, size))
            team_id += 1
    seats = [t[0] for t in teams for _ in range(t[3])]
    rng.shuffle(seats)
    done: list[int] = []
    partway: list[int] = []
    for _ in range(learners):
        r = rng.random()
        k = 0 if r < 0.08 else MODULES if r < 0.38 else rng.randint(1, MODULES - 1)
        done.append(k)
        partway.append(1 if k < MODULES and rng.random() < 0.7 else 0)
    passes = sum(done)
    active = [i for i in range(learners) if done[i] or partway[i]]
    failed = [0] * learners
    for _ in range(max(0, attempts - passes)):
        failed[rng.choice(active)] += 1
    return Plan(orgs, teams, seats, done, partway, failed)


def _stamp(moment: datetime) -> datetime:
    return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)


def fill(
    engine: Any,
    course_dir: Path,
    *,
    learners: int,
    organisations: int,
    attempts: int,
    seed: int,
    big_team: int = 500,
    log: Any = print,
) -> dict[str, Any]:
    """Write every row; return what a benchmark needs to know (ids, counts, timings)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    modules = course_modules(course_dir, rng)
    with engine.connect() as conn:
        partnerships = [
            r[0] for r in conn.execute(text("SELECT id FROM partnership ORDER BY position, id"))
        ]
        clash = conn.execute(
            text('SELECT count(*) FROM "user" WHERE email IN (:a, :b)'),
            {"a": MANAGER_EMAIL, "b": ADMIN_EMAIL},
        ).scalar()
    if not partnerships:
        raise SystemExit("no partnerships: run `elearn partnerships load` first")
    if clash:
        raise SystemExit("this database already holds bench data; use a fresh one")
    ids = _next_ids(engine, SERIAL_TABLES)
    big_team = min(big_team, learners // 2)
    plan = make_plan(
        rng,
        partnerships,
        ids,
        learners=learners,
        organisations=organisations,
        attempts=attempts,
        big_team=big_team,
    )
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    learner_hash = hash_password(secrets.token_urlsafe(16))  # nobody signs in as a learner
    known_hash = hash_password(PASSWORD)
    sink = Sink(engine)
    timings: dict[str, float] = {"course": time.perf_counter() - started}
    try:
        t0 = time.perf_counter()
        sink.write(
            "organisation",
            ORG_COLS,
            [(o[0], o[1], o[2], o[3], "open", "") for o in plan.organisations],
        )
        sink.write("team", TEAM_COLS, [t[:3] for t in plan.teams])
        org_of_team = {t[0]: t[1] for t in plan.teams}
        org_by_id = {o[0]: o for o in plan.organisations}
        big = plan.teams[0]
        known_org = plan.organisations[0]
        first_user = ids["user"]
        manager_id, admin_id = first_user, first_user + 1
        since = now - timedelta(days=600)
        sink.write(
            "user",
            USER_COLS,
            [
                (
                    manager_id,
                    MANAGER_EMAIL,
                    "Bench Manager",
                    known_hash,
                    "manager",
                    known_org[1],
                    known_org[0],
                    None,
                    since,
                    since,
                ),
                (
                    admin_id,
                    ADMIN_EMAIL,
                    "Bench Partnership Admin",
                    known_hash,
                    "admin",
                    partnerships[0],
                    None,
                    None,
                    since,
                    since,
                ),
            ],
        )
        sink.write("teammanager", ("team_id", "user_id"), [(big[0], manager_id)])
        assignment_rows = []
        for n, team in enumerate(plan.teams):
            org = org_by_id[team[1]]
            due = (
                today - timedelta(days=14) if n == 0 else today + timedelta(rng.randint(-120, 150))
            )
            months = 12 if n == 0 or rng.random() < 1 / 3 else None
            assignment_rows.append(
                (
                    ids["assignment"] + n,
                    org[1],
                    COURSE_ID,
                    TRACK_ID,
                    None,
                    team[0],
                    None,
                    None,
                    due,
                    months,
                    admin_id,
                    since,
                )
            )
        sink.write("assignment", ASSIGN_COLS, assignment_rows)
        sink.commit()
        timings["organisations, teams, assignments"] = time.perf_counter() - t0

        next_id = {t: ids[t] for t in ("enrolment", "quizattempt", "modulecompletion")}
        next_id["lessonprogress"] = ids["lessonprogress"]
        next_id["trackcompletion"] = ids["trackcompletion"]
        first_learner = first_user + 2
        chunk = 2_000
        t0 = time.perf_counter()
        for start in range(0, learners, chunk):
            users, enrols, tries, dones, lessons, tracks = [], [], [], [], [], []
            for i in range(start, min(learners, start + chunk)):
                uid = first_learner + i
                team_id = plan.seats[i]
                org = org_by_id[org_of_team[team_id]]
                first, last = rng.choice(FIRST), rng.choice(LAST)
                joined = since + timedelta(seconds=int(600 * 86400 * i / learners))
                slug = f"{_ascii(first)}.{_ascii(last)}"
                users.append(
                    (
                        uid,
                        f"{slug}.{uid}@org{org[0]}.bench.example",
                        f"{first} {last}",
                        learner_hash,
                        "learner",
                        org[1],
                        org[0],
                        team_id,
                        joined,
                        joined,
                    )
                )
                k, part, fails = plan.done[i], plan.partway[i], plan.failed[i]
                if not (k or part):
                    continue
                begin = now - timedelta(days=rng.uniform(1, 540))
                span = (now - begin).total_seconds()
                moments = sorted(
                    begin + timedelta(seconds=rng.uniform(0, span)) for _ in range(k + 1)
                )
                enrols.append((next_id["enrolment"], uid, COURSE_ID, TRACK_ID, _stamp(begin)))
                next_id["enrolment"] += 1
                # failed attempts: at a module already completed (before its pass) or the next
                reachable = k + (1 if part else 0)
                reachable = max(1, min(reachable, MODULES))
                fail_at = Counter(rng.randrange(reachable) for _ in range(fails))
                for m in range(min(MODULES, reachable)):
                    module = modules[m]
                    finished = m < k
                    end = moments[m] if finished else now - timedelta(hours=rng.uniform(1, 200))
                    tries_here = fail_at[m] + (1 if finished else 0)
                    if finished:
                        lesson_count = len(module.lessons)
                    else:  # the next module: part-way through its lessons, if at all
                        lesson_count = rng.randint(1, len(module.lessons) - 1) if part else 0
                    first_at = end - timedelta(minutes=30 + 20 * tries_here + 5 * lesson_count)
                    for n, lesson_id in enumerate(module.lessons[:lesson_count]):
                        lessons.append(
                            (
                                next_id["lessonprogress"],
                                uid,
                                COURSE_ID,
                                module.id,
                                lesson_id,
                                "viewed",
                                _stamp(first_at + timedelta(minutes=5 * n)),
                            )
                        )
                        next_id["lessonprogress"] += 1
                    at = first_at + timedelta(minutes=5 * lesson_count)
                    for j in range(tries_here):
                        passed = finished and j == tries_here - 1
                        seed_, questions, answers, review, score = rng.choice(
                            module.attempts[passed]
                        )
                        submitted = end if passed else at + timedelta(minutes=12)
                        attempt_id = next_id["quizattempt"]
                        next_id["quizattempt"] += 1
                        tries.append(
                            (
                                attempt_id,
                                uid,
                                COURSE_ID,
                                module.id,
                                1,
                                module.sha256,
                                seed_,
                                questions,
                                _stamp(submitted - timedelta(minutes=10)),
                                _stamp(submitted),
                                answers,
                                review,
                                score,
                                passed,
                            )
                        )
                        at = submitted + timedelta(minutes=5)
                        if passed:
                            dones.append(
                                (
                                    next_id["modulecompletion"],
                                    uid,
                                    COURSE_ID,
                                    module.id,
                                    1,
                                    module.sha256,
                                    attempt_id,
                                    _stamp(submitted),
                                )
                            )
                            next_id["modulecompletion"] += 1
                if k == MODULES:
                    tracks.append(
                        (next_id["trackcompletion"], uid, COURSE_ID, TRACK_ID, _stamp(moments[-2]))
                    )
                    next_id["trackcompletion"] += 1
            sink.write("user", USER_COLS, users)
            sink.write("enrolment", ENROL_COLS, enrols)
            sink.write("quizattempt", ATTEMPT_COLS, tries)
            sink.write("modulecompletion", DONE_COLS, dones)
            sink.write("lessonprogress", LESSON_COLS, lessons)
            sink.write("trackcompletion", TRACK_DONE_COLS, tracks)
            sink.commit()
            if (start // chunk) % 5 == 4:
                log(f"  {start + chunk:,} learners written ({time.perf_counter() - t0:.0f} s)")
        timings["learners and their progress"] = time.perf_counter() - t0
    finally:
        sink.close()
    t0 = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            for table in SERIAL_TABLES:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT coalesce(max(id), 1) FROM "{table}"))'
                    )
                )
            conn.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        timings["sequences, VACUUM ANALYZE"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    people_by_partnership = Counter(
        org_by_id[org_of_team[t]][1] for t in plan.seats
    )  # learners per partnership
    sectors = Counter(org_by_id[org_of_team[t]][3] for t in plan.seats)
    return {
        "manager": MANAGER_EMAIL,
        "admin": ADMIN_EMAIL,
        "password": PASSWORD,
        "partnership": partnerships[0],
        "organisation": {"id": known_org[0], "name": known_org[2]},
        "team": {"id": big[0], "name": big[2], "people": big[3]},
        "people_by_partnership": dict(people_by_partnership),
        "people_by_sector_in_partnership": dict(
            Counter(
                org_by_id[org_of_team[t]][3]
                for t in plan.seats
                if org_by_id[org_of_team[t]][1] == partnerships[0]
            )
        ),
        "sectors": dict(sectors),
        "rows": dict(sink.counts),
        "write_seconds": {k: round(v, 1) for k, v in sink.seconds.items()},
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "completed_pairs": sum(plan.done),
        "pairs": learners * MODULES,
    }


def generate(
    database_url: str,
    courses_dir: Path,
    *,
    learners: int = 50_000,
    organisations: int = 200,
    attempts: int = 1_000_000,
    seed: int = 1,
    log: Any = print,
) -> dict[str, Any]:
    """Write and validate the course, then fill the database; return the summary."""
    from elearn.db import make_engine

    t0 = time.perf_counter()
    course_dir = write_course(courses_dir)
    checked = validate_course(courses_dir)
    log(f"course: {course_dir} ({checked}; {time.perf_counter() - t0:.1f} s)")
    engine = make_engine(database_url)
    try:
        summary = fill(
            engine,
            course_dir,
            learners=learners,
            organisations=organisations,
            attempts=attempts,
            seed=seed,
            log=log,
        )
    finally:
        engine.dispose()
    summary["courses_dir"] = str(courses_dir)
    return summary


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse the arguments, generate, print a summary with the logins."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--courses-dir", type=Path, required=True)
    parser.add_argument("--learners", type=int, default=50_000)
    parser.add_argument("--organisations", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 2 <= args.organisations <= args.learners // 2 or args.learners > 1_000_000:
        parser.error("at least 2 organisations, each with 2 or more learners; 1,000,000 at most")
    started = time.perf_counter()
    summary = generate(
        args.database_url,
        args.courses_dir,
        learners=args.learners,
        organisations=args.organisations,
        attempts=args.attempts,
        seed=args.seed,
    )
    print(f"\nGenerated in {time.perf_counter() - started:.1f} s:")
    for key, value in summary["timings"].items():
        print(f"  {key}: {value} s")
    print("Rows written:")
    for table, count in summary["rows"].items():
        print(f"  {table}: {count:,} ({summary['write_seconds'][table]} s writing)")
    print(
        f"Completed learner x module pairs: {summary['completed_pairs']:,} of "
        f"{summary['pairs']:,} ({100 * summary['completed_pairs'] / summary['pairs']:.0f}%)"
    )
    print(f"Learners per partnership: {summary['people_by_partnership']}")
    team, org = summary["team"], summary["organisation"]
    print(f"The known team: {team['name']} (id {team['id']}, {team['people']} people)")
    print(f"  in {org['name']} (organisation id {org['id']})")
    print(f"Manager of that team: {summary['manager']}")
    print(f"Admin of {summary['partnership']}: {summary['admin']}")
    print(f"Password of both: {summary['password']}")
    return summary


if __name__ == "__main__":
    main()
