"""Time `elearn courses validate` over a generated course of N modules (default 1,000).

Each generated module is a copy of a real shipped module under a new id, so the figure
reflects realistic file sizes (about 20 KB, 6 lessons, 8 questions each).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from elearn.content.catalog import build
from elearn.content.loader import load

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "courses" / "trauma-informed-practice" / "modules" / "understanding-trauma.yaml"


def generate(folder: Path, count: int) -> Path:
    """Write a course with `count` modules spread over three tracks."""
    course = folder / "generated"
    (course / "modules").mkdir(parents=True)
    text = TEMPLATE.read_text()
    for number, track in enumerate(("education", "police", "youth-justice")):
        text = re.sub(rf"^(\s+){track}:", rf"\1track-{number}:", text, flags=re.M)
    ids = [f"module-{i:04d}" for i in range(count)]
    for module_id in ids:
        body = text.replace("id: understanding-trauma", f"id: {module_id}", 1)
        (course / "modules" / f"{module_id}.yaml").write_text(body)
    tracks = [
        {"id": f"track-{t}", "title": f"Track {t}", "modules": ids[t % 3 :: 3]} for t in range(3)
    ]
    (course / "course.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "generated",
                "title": "Generated",
                "summary": "Generated for a benchmark.",
                "practice_level": "informed",
                "partnerships": ["nottinghamshire"],
                "tracks": tracks,
            }
        )
    )
    return course


def main() -> None:
    """Generate, then validate several times and print the median."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        course = generate(Path(tmp), args.modules)
        size = sum(p.stat().st_size for p in course.rglob("*.yaml"))
        times, single, render_times = [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            load([course], workers=os.cpu_count() or 1)  # as `elearn courses validate` does
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = load([course])
            single.append(time.perf_counter() - start)
            assert result.ok, result.problems[:3]
            start = time.perf_counter()
            build(result)
            render_times.append(time.perf_counter() - start)
        print(f"{args.modules} modules, {size / 1e6:.1f} MB of YAML")
        print(
            f"validate ({os.cpu_count()} processes, as the CLI): median "
            f"{statistics.median(times):.2f} s, best {min(times):.2f} s"
        )
        print(f"validate (one process, as the server): median {statistics.median(single):.2f} s")
        print(f"render catalogue (server start): median {statistics.median(render_times):.2f} s")
        previous = build(result)
        edited = course / "modules" / "module-0500.yaml"
        edited.write_text(edited.read_text().replace("title: What is trauma?", "title: Edited"))
        start = time.perf_counter()
        build(load([course]), previous=previous)
        print(
            "hot reload after editing one module (validate all, render one): "
            f"{time.perf_counter() - start:.2f} s"
        )


if __name__ == "__main__":
    main()
