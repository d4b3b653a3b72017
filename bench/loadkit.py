"""Shared pieces of the load benchmarks (`learners.py`, `quiz_submissions.py`).

A database (a SQLite file in a temporary folder, or a PostgreSQL database created for the
run and dropped afterwards), the real server started as `python -m elearn serve` on a free
loopback port, learners who sign up through the real forms, and small measuring helpers.
Only loopback addresses are ever used; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COURSE = "trauma-informed-practice"
PASSWORD = "tiger lemon river cloud"
PG_SERVER = os.environ.get("ELEARN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# ---------------------------------------------------------------------------------------------
# The course, read straight from its YAML (lesson ids and, for quizzes, the right answers).


@dataclass(frozen=True)
class CoursePlan:
    """What a benchmark needs to know about the shipped course."""

    tracks: dict[str, list[str]]  # track id -> module ids in order
    lessons: dict[str, list[str]]  # module id -> lesson ids in order
    right: dict[str, dict[str, list[str]]]  # module id -> question id -> right form values

    def home_track(self, module_id: str) -> str:
        """The first track (police first) that includes the module."""
        for track in ("police", *sorted(self.tracks)):
            if module_id in self.tracks.get(track, []):
                return track
        raise KeyError(module_id)


def course_plan() -> CoursePlan:
    """Read the shipped course with the project's own loader (no rendering)."""
    from elearn.content.loader import load

    result = load([ROOT / "courses"], workers=1)
    if result.errors:
        raise SystemExit(f"the shipped course has errors: {result.errors[0]}")
    course = next(c for c in result.courses if c.model.id == COURSE)
    tracks = {t.id: list(t.modules) for t in course.model.tracks}
    lessons: dict[str, list[str]] = {}
    right: dict[str, dict[str, list[str]]] = {}
    for module_id, loaded in course.modules.items():
        module = loaded.model
        lessons[module_id] = [lesson.id for lesson in module.lessons]
        answers: dict[str, list[str]] = {}
        for q in module.quiz.questions if module.quiz else []:
            if q.kind == "true_false":
                answers[q.id] = ["true" if q.answer else "false"]
            else:
                answers[q.id] = [str(i) for i, o in enumerate(q.options or []) if o.correct]
        right[module_id] = answers
    return CoursePlan(tracks, lessons, right)


# ---------------------------------------------------------------------------------------------
# Databases and servers.


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise SystemExit(f"refusing a non-loopback database host: {host}")


def postgres_reachable() -> bool:
    """True when the PostgreSQL server answers within three seconds."""
    from sqlalchemy import create_engine

    _check_loopback(PG_SERVER)
    try:
        engine = create_engine(f"{PG_SERVER}/postgres", connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


class Database:
    """A fresh database of one kind, with the app's environment pointing at it."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        self.env = {
            **os.environ,
            "ELEARN_DATA_DIR": str(tmp),
            "ELEARN_LOG_LEVEL": "warning",
            "ELEARN_RELOAD_COURSES": "false",
            # Every simulated learner signs up from the same address.
            "ELEARN_SIGN_UPS_PER_ADDRESS_PER_HOUR": "100000",
        }
        self.env.pop("ELEARN_DATABASE_URL", None)
        self.name = ""
        if kind == "sqlite":
            self.url = f"sqlite:///{tmp / 'elearn.sqlite3'}"
        else:
            _check_loopback(PG_SERVER)
            self.name = f"elearn_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            self.url = f"{PG_SERVER}/{self.name}"
            self.env["ELEARN_DATABASE_URL"] = self.url

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(sql))
        finally:
            admin.dispose()

    def create(self) -> None:
        """Create the database (PostgreSQL), migrate it and add the demo organisations."""
        if self.kind == "postgresql":
            self._admin(f'CREATE DATABASE "{self.name}"')
            self._cli("db", "upgrade")
        self._cli("demo")

    def drop(self) -> None:
        """Drop the PostgreSQL database (the SQLite file goes with its temporary folder)."""
        if self.kind == "postgresql" and self.name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "elearn", *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def scalar(self, sql: str, **params: Any) -> Any:
        """One value read straight from the database."""
        return self.rows(sql, **params)[0][0]

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows read straight from the database with SQLAlchemy (not through the app)."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params).all())
        finally:
            engine.dispose()


@contextmanager
def database(kind: str) -> Iterator[Database]:
    """A created, seeded database of this kind; dropped (and its folder removed) afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=f"elearn-bench-{kind}-"))
    db = Database(kind, tmp)
    try:
        db.create()
        yield db
    finally:
        try:
            db.drop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def machine_busy() -> float:
    """CPU seconds every process on the machine has used so far (all cores, from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process on a loopback port; stderr kept in a log file for the error summary."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {log.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server on port {self.port} did not start within 60 s")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the process (terminate, then kill after ten seconds)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def errors(self) -> Counter[str]:
        """Error log lines, grouped by their last traceback line (or message)."""
        found: Counter[str] = Counter()
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if "Error" in line or "Traceback" in line:
                    found[line.strip()[:200]] += 1
                continue
            if not isinstance(entry, dict) or entry.get("level") not in ("error", "critical"):
                continue
            trace = str(entry.get("traceback") or "").strip().splitlines()
            found[(trace[-1] if trace else str(entry.get("message")))[:200]] += 1
        return found


def elearn_server(db: Database) -> Server:
    """`python -m elearn serve` against the database."""
    return Server(
        [sys.executable, "-m", "elearn", "serve"], db.env, db.tmp / f"server-{free_port()}.log"
    )


def hello_server(tmp: Path) -> Server:
    """The bare FastAPI app, under uvicorn as `elearn serve` runs it (uvloop, httptools)."""
    return Server(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.hello_app:app",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        dict(os.environ),
        tmp / "hello.log",
    )


# ---------------------------------------------------------------------------------------------
# The HTTP client and learners.


def client(base_url: str, connections: int, timeout: float = 60) -> httpx.AsyncClient:
    """An async client that never keeps cookies (each request carries its learner's).

    Keep `connections` small and use several clients for concurrency: one httpx client's
    connection pool costs more CPU per request the more requests it has in flight (on this
    machine one client with 50 in flight manages ~190 req/s against the bare app; 50 clients
    with one each, ~1,200 req/s).
    """
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        base_url=base_url,
        cookies=jar,
        follow_redirects=False,
        timeout=timeout,
        verify=False,  # plain HTTP on loopback; skips building a TLS context per client
        limits=httpx.Limits(
            max_connections=connections,
            max_keepalive_connections=connections,
            # below uvicorn's 5 s keep-alive timeout: with both at 5 s, a request can go out
            # on a connection the server is closing at that moment (an httpx ReadError)
            keepalive_expiry=2.0,
        ),
    )


@asynccontextmanager
async def clients(
    base_url: str, count: int, connections: int, timeout: float = 60
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`count` separate clients (one per browser or worker), closed afterwards."""
    made = [client(base_url, connections, timeout) for _ in range(count)]
    try:
        yield made
    finally:
        await asyncio.gather(*(c.aclose() for c in made), return_exceptions=True)


def _set_cookie(response: httpx.Response, name: str) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    return None


@dataclass
class Learner:
    """A signed-in learner: the cookies a browser would hold."""

    number: int
    email: str
    http: Any = None  # the learner's own client, as a browser has its own connections
    session: str = ""
    csrf: str = ""
    cursor: int = 0
    seen: set[str] = field(default_factory=set)

    @property
    def headers(self) -> dict[str, str]:
        """The Cookie header for this learner."""
        return {"Cookie": f"elearn_session={self.session}; elearn_csrf={self.csrf}"}

    @property
    def cookie(self) -> str:
        """The Cookie header's value."""
        return self.headers["Cookie"]


class Failed(Exception):
    """An unexpected response during setup."""


def _expect(response: httpx.Response, *codes: int) -> httpx.Response:
    if response.status_code not in codes:
        title = re.search(r"<title>(.*?)</title>", response.text, re.S)
        raise Failed(
            f"{response.request.method} {response.request.url.path} -> {response.status_code} "
            f"({title.group(1).strip() if title else response.text[:120]!r})"
        )
    return response


async def organisation_id(http: httpx.AsyncClient, sector_word: str = "Police") -> str:
    """The id of an organisation open for sign-up whose name contains the word."""
    page = _expect(await http.get("/account/sign-up"), 200).text
    for value, name in re.findall(r'<option value="(\d+)"[^>]*>([^<]*)', page):
        if sector_word in name:
            return str(value)
    raise Failed(f"no organisation named like {sector_word!r} on the sign-up page")


async def sign_up(http: httpx.AsyncClient, learner: Learner, org: str) -> None:
    """Sign up through the form (or sign in when the account exists); keep the cookies."""
    page = _expect(await http.get("/account/sign-up"), 200)
    csrf = _set_cookie(page, "elearn_csrf")
    assert csrf is not None, "the sign-up page set no CSRF cookie"
    cookie = {"Cookie": f"elearn_csrf={csrf}"}
    form = {
        "csrf_token": csrf,
        "name": f"Bench Learner {learner.number}",
        "email": learner.email,
        "password": PASSWORD,
        "organisation": org,
    }
    response = await http.post("/account/sign-up", data=form, headers=cookie)
    if response.status_code == 400 and "already have an account" in response.text:
        response = await http.post(
            "/account/sign-in",
            data={"csrf_token": csrf, "email": learner.email, "password": PASSWORD},
            headers=cookie,
        )
    _expect(response, 303)
    session = _set_cookie(response, "elearn_session")
    new_csrf = _set_cookie(response, "elearn_csrf")
    if not session or not new_csrf:
        raise Failed("signing up set no session cookie")
    learner.session, learner.csrf = session, new_csrf


async def enrol(http: httpx.AsyncClient, learner: Learner, track: str) -> None:
    """Enrol the learner on a track of the course."""
    _expect(
        await http.post(
            f"/courses/{COURSE}/{track}/enrol",
            data={"csrf_token": learner.csrf},
            headers=learner.headers,
        ),
        303,
    )


async def gather_limited(jobs: Sequence[Any], limit: int, seconds: float) -> list[Any]:
    """Run coroutines at most `limit` at a time, within `seconds`; return results or errors."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.wait_for(
        asyncio.gather(*(one(j) for j in jobs), return_exceptions=True), timeout=seconds
    )


@dataclass(frozen=True)
class QuizForm:
    """A quiz attempt's form as served: where it posts, and each question's choices."""

    action: str
    questions: dict[str, list[tuple[str, str]]]  # question id -> [(input type, value)]


def parse_quiz(html: str) -> QuizForm:
    """Read the form of a quiz attempt page."""
    action = re.search(r'<form method="post" action="([^"]+/quiz/\d+)"', html)
    if action is None:
        raise Failed("no quiz form on the attempt page")
    questions: dict[str, list[tuple[str, str]]] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="q-([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and kind and value:
            questions.setdefault(name.group(1), []).append((kind.group(1), value.group(1)))
    if not questions:
        raise Failed("the quiz form has no questions")
    return QuizForm(action.group(1), questions)


def any_valid_answers(form: QuizForm, rng: random.Random) -> list[tuple[str, str]]:
    """One valid choice per question (a single box ticked for "select all that apply")."""
    return [(f"q-{qid}", rng.choice(choices)[1]) for qid, choices in form.questions.items()]


# ---------------------------------------------------------------------------------------------
# Measuring.


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summary_ms(seconds: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 in milliseconds."""
    values = sorted(seconds)
    return tuple(1000 * percentile(values, p) for p in (0.50, 0.95, 0.99))  # type: ignore[return-value]


def wrk(
    url: str,
    seconds: int,
    connections: int,
    *,
    headers: Sequence[str] = (),
    script: Path | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    """Run wrk (-t2) and read the one RESULT line its Lua reporter prints."""
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script or HERE / "p95.lua"),
    ]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
        env={**os.environ, **(env or {})},
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}


def have_wrk() -> bool:
    """True when wrk is on the PATH."""
    return shutil.which("wrk") is not None


def run_async(main: Any) -> Any:
    """Run the coroutine on uvloop when it is installed (a cheaper client), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
