"""The public certificate check page under 50 concurrent clients, beside a bare app.

For each database (a fresh one, with the demo data, whose finished learners hold
certificates): `python -m elearn serve` on a loopback port, then wrk -c50 on the check page of
a real certificate, on an unknown code (the "not found" page), and on the published keys.
The per-address limit is lifted for the run, since every request comes from one address.

    .venv/bin/python bench/verify_pages.py [--databases sqlite postgresql] [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadkit as kit  # noqa: E402

UNKNOWN = "/verify/AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG"


def measure(kind: str, seconds: int, connections: int) -> list[tuple[str, dict[str, float]]]:
    """wrk figures for each page, on a fresh database of this kind."""
    with kit.database(kind) as db:
        codes = [row[0] for row in db.rows("SELECT code FROM certificate ORDER BY id")]
        if not codes:
            raise SystemExit("the demo data issued no certificates")
        db.env["ELEARN_VERIFICATIONS_PER_ADDRESS_PER_MINUTE"] = "1000000000"
        server = kit.elearn_server(db)
        try:
            results = []
            for name, path in (
                (
                    f"check page of a valid certificate ({len(codes)} in the database)",
                    f"/verify/{codes[0]}",
                ),
                ("unknown code (not found page)", UNKNOWN),
                ("published keys (JSON)", "/certificates/keys.json"),
            ):
                kit.wrk(server.url + path, 2, connections)  # warm-up
                results.append((name, kit.wrk(server.url + path, seconds, connections)))
            errors = server.errors()
        finally:
            server.stop()
        if errors:
            print(f"server errors on {kind}: {dict(errors)}", file=sys.stderr)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if not kit.have_wrk():
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    kinds = [k for k in args.databases if k != "postgresql" or kit.postgres_reachable()]
    with tempfile.TemporaryDirectory() as tmp:
        hello = kit.hello_server(Path(tmp))
        try:
            kit.wrk(hello.url + "/", 2, args.connections)
            bare = kit.wrk(hello.url + "/", args.seconds, args.connections)
        finally:
            hello.stop()
    started = time.monotonic()
    print(f"# Certificate check page, wrk -t2 -c{args.connections}, {args.seconds} s each\n")
    print("| database | page | req/s | share of bare | p50 ms | p95 ms | p99 ms | non-2xx |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| | bare FastAPI hello world | {bare['rps']:,.0f} | 100% | {bare['p50']:.1f} | "
        f"{bare['p95']:.1f} | {bare['p99']:.1f} | {bare['non2xx']:.0f} |"
    )
    for kind in kinds:
        for name, r in measure(kind, args.seconds, args.connections):
            print(
                f"| {kind} | {name} | {r['rps']:,.0f} | {r['rps'] / bare['rps']:.0%} | "
                f"{r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['non2xx']:.0f} |"
            )
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
