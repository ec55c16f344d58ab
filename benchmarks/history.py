"""Benchmark a registry that lives for years: a full build of a multi-year history, then one month
of new arrivals, then a run with nothing new.

Usage: .venv/bin/python benchmarks/history.py [--scale 1.0] [--years 2021-2025] [--data-dir DIR]

1. `stralebruk generate --years Y1-Y2 --as-of <30 November of Y2>`: the history as it had arrived a
   month before the end of the last year (generated, not replicated: the JSON says so);
2. `stralebruk run --full-refresh`: the full build (ingest, dbt, publish, deliver), timed with the
   peak RSS of the largest process of the run (DuckDB runs inside dbt);
3. `stralebruk generate ... --as-of <31 December of Y2>` adds the files that arrived in December;
   `stralebruk run` takes them in (the month's run);
4. `stralebruk run` again: nothing new (the no-change run).
Every run is a subprocess of a wrapper that reports ru_maxrss of its waited-for descendants. Step
times come from the run's own progress lines ("✓ step (N s)"). Targets on the 2-core machine: full
≤ 15 min, RSS ≤ 12 GB, the month ≤ a tenth of the full run, no change ≤ 15 s.
Prints the figures, then ONE JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# benchmarks/extract.py would shadow the extract package: the project root comes first
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration.settings import Paths

ROOT = Path(__file__).resolve().parents[1]
# this checkout's CLI (not whatever `stralebruk` the environment installed)
STRALEBRUK = [sys.executable, "-m", "orchestration.cli"]
# Runs the command as its only child and reports the peak RSS of its descendants (KiB on Linux).
_WRAPPER = """
import json, resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": p.returncode, "out": p.stdout + p.stderr,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""
STEP = re.compile(r"✓ (\S+) \((\d+(?:\.\d+)?)s\)")


def measured(*args: str) -> dict:
    """Run `stralebruk <args>`; wall seconds, peak RSS (MB), step seconds, output."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *STRALEBRUK, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - t0
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        sys.exit(f"stralebruk {' '.join(args)} failed ({result['rc']}):\n{result['out'][-4000:]}")
    steps = {name: float(s) for name, s in STEP.findall(result["out"])}
    return {"seconds": seconds, "rss_mb": result["maxrss_kb"] / 1024, "steps": steps, "out": result["out"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = national volumes (default)")
    parser.add_argument("--years", default="2021-2025", help="first-last year of the history")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, help="default: a temporary folder")
    args = parser.parse_args()
    last = int(args.years.split("-")[-1])
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="stralebruk-history-"))
    paths = Paths.from_env(root)
    gen = ["generate", "--out", str(paths.inbox), "--years", args.years, "--scale", str(args.scale)]
    gen += ["--seed", str(args.seed)]
    run = ["run", "--data-dir", str(paths.data_dir)]

    print(f"history {args.years} at scale {args.scale} in {root}", flush=True)
    first = measured(*gen, "--as-of", f"{last}-11-30")
    print(f"generated up to {last}-11-30 in {first['seconds']:.0f} s", flush=True)
    full = measured(*run, "--full-refresh")
    print(
        f"full run {full['seconds']:.0f} s, peak RSS {full['rss_mb']:.0f} MB, steps {full['steps']}",
        flush=True,
    )
    month_gen = measured(*gen, "--as-of", f"{last}-12-31")
    print(f"December's arrivals generated in {month_gen['seconds']:.0f} s", flush=True)
    month = measured(*run)
    print(f"month run {month['seconds']:.0f} s, steps {month['steps']}", flush=True)
    idle = measured(*run)
    print(f"no-change run {idle['seconds']:.1f} s", flush=True)

    figures = {
        "history": "generated",
        "years": args.years,
        "scale": args.scale,
        "full_build_seconds": round(full["seconds"], 1),
        "full_dbt_seconds": full["steps"].get("dbt_warehouse"),
        "full_ingest_seconds": full["steps"].get("extract"),
        "full_build_peak_rss_mb": round(full["rss_mb"]),
        "month_incremental_seconds": round(month["seconds"], 1),
        "month_dbt_seconds": month["steps"].get("dbt_warehouse"),
        "month_to_full_ratio": round(month["seconds"] / full["seconds"], 3),
        "no_change_run_seconds": round(idle["seconds"], 2),
        "served_file_mb": round(paths.served_warehouse.stat().st_size / 2**20, 1),
        "build_file_mb": round(paths.build_warehouse.stat().st_size / 2**20, 1),
        "publish_seconds": full["steps"].get("served_warehouse"),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
