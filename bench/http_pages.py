"""Throughput and p95 latency of the course pages under 50 concurrent clients, beside a bare app.

Starts each server with uvicorn (one process, as `elearn serve` runs), loads it with wrk
(Debian package `wrk`) for a fixed time, and prints a Markdown table. Only loopback is used.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGES = {
    "home": "/",
    "track": "/courses/trauma-informed-practice/police",
    "module": "/courses/trauma-informed-practice/police/understanding-trauma",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def _start(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait(port)
    return proc


def _wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(HERE / "p95.lua"), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}


def main() -> None:
    """Run every scenario and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    python = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "ELEARN_DATA_DIR": tmp,
            "ELEARN_LOG_LEVEL": "warning",
            "ELEARN_RELOAD_COURSES": "false",
        }
        port = _free_port()
        bare = _start(
            [
                python,
                "-m",
                "uvicorn",
                "bench.hello_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            port,
            env,
        )
        try:
            _wrk(f"http://127.0.0.1:{port}/", 2, args.connections)  # warm up
            rows.append(
                (
                    "bare FastAPI hello world",
                    _wrk(f"http://127.0.0.1:{port}/", args.seconds, args.connections),
                )
            )
        finally:
            bare.terminate()
            bare.wait()
        port = _free_port()
        app = _start([python, "-m", "elearn", "serve", "--port", str(port)], port, env)
        try:
            for name, path in PAGES.items():
                url = f"http://127.0.0.1:{port}{path}"
                _wrk(url, 2, args.connections)
                rows.append((f"{name} page", _wrk(url, args.seconds, args.connections)))
        finally:
            app.terminate()
            app.wait()
    base = rows[0][1]["rps"]
    print(f"{args.connections} connections, {args.seconds} s each, wrk -t2, one uvicorn process\n")
    print("| scenario | requests/s | % of bare | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(
            f"| {name} | {r['rps']:.0f} | {100 * r['rps'] / base:.0f}% | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['errors'] + r['non2xx']:.0f} |"
        )


if __name__ == "__main__":
    main()
