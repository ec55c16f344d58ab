"""Benchmark the warehouse: `dbt build` time and peak memory on a generated, ingested year.

Usage: .venv/bin/python benchmarks/warehouse.py [--scales 0.1,1.0] [--data-dir DIR] [--core-only]
For each scale: generate (seed 1) and ingest into <data dir>/scale_<s>/ (reused when its lake is
already there), then time one `dbt build` of the whole project into a fresh build warehouse.
Peak memory is the largest RSS of the dbt process (DuckDB runs inside it), measured by a wrapper
process whose only child is dbt. Scale 1.0 (a national year) is heavy: generation and ingest take
a long while; the target is its `dbt build` in under 10 minutes on 2 cores.
Prints the figures, then ONE JSON line (seconds_scale_0_1, seconds_scale_1_0, peak_rss_mb, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# benchmarks/extract.py would shadow the extract package: the project root comes first
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extract import lake as lk
from orchestration.settings import DBT_PROJECT_DIR, Paths

DBT = Path(sys.executable).parent / "dbt"
CORE_ONLY = ["--exclude", "path:models/deliveries", "path:seeds/deliveries", "path:seeds/synthetic"]

# Runs dbt as its only child and reports that child's peak RSS (ru_maxrss is in KiB on Linux).
_WRAPPER = """
import json, resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(json.dumps({"rc": rc, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def prepare(paths: Paths, scale: float) -> None:
    from extract.ingest import ingest
    from synth import generate

    if lk.ledger_dir(paths.lake).exists():
        print(f"scale {scale}: reusing {paths.lake}")
        return
    t0 = time.perf_counter()
    generate(paths.inbox, year=2025, scale=scale, seed=1, progress=False)
    t1 = time.perf_counter()
    ingest(paths.inbox, paths.lake)
    print(f"scale {scale}: generated in {t1 - t0:.0f} s, ingested in {time.perf_counter() - t1:.0f} s")


def replicate(source: Paths, paths: Paths, copies: int) -> None:
    """A lake `copies` times the size of `source`'s: each copy's file ids and institution orgnrs get
    a suffix, so the copies are distinct senders with the same activity. A stand-in for a
    generated year when generating one is too slow (or fails); the JSON says which was used."""
    import duckdb

    if lk.ledger_dir(paths.lake).exists():
        print(f"replicated lake: reusing {paths.lake}")
        return
    t0 = time.perf_counter()
    con = duckdb.connect()
    for part_dir in lk.table_dirs(source.lake):
        out = paths.lake / part_dir.relative_to(source.lake)
        out.mkdir(parents=True, exist_ok=True)
        columns = [r[0] for r in con.execute(f"describe select * from '{part_dir}/*.parquet'").fetchall()]
        renamed = {"file_id": "file_id || '-' || k", "institusjonID": "institusjonID || '-' || k"}
        select = ", ".join(f"{renamed[c]} as {c}" if c in renamed else f'"{c}"' for c in columns)
        con.execute(
            f"copy (select {select} from read_parquet('{part_dir}/*.parquet', union_by_name=true), "
            f"range({copies}) as r(k)) to '{out}/part-0.parquet' (format parquet)"
        )
    for folder in (lk.ledger_dir, lk.findings_dir):
        folder(paths.lake).mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select * replace (file_id || '-' || k as file_id) "
            f"from read_parquet('{folder(source.lake)}/*.parquet', union_by_name=true), "
            f"range({copies}) as r(k)) to '{folder(paths.lake)}/part-0.parquet' (format parquet)"
        )
    print(f"replicated {source.lake} x{copies} in {time.perf_counter() - t0:.0f} s")


def _label(scale: float) -> str:
    """0.1 -> '0_1', 1.0 -> '1_0' (the JSON keys the issue names)."""
    text = f"{scale:g}"
    return (text if "." in text else f"{text}.0").replace(".", "_")


def build(paths: Paths, core_only: bool) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) and return code of one `dbt build` into a fresh warehouse."""
    paths.build_warehouse.parent.mkdir(parents=True, exist_ok=True)
    paths.build_warehouse.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="stralebruk-dbt-") as tmp:
        cmd = [
            str(DBT),
            "build",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            f"{tmp}/target",
            "--log-path",
            f"{tmp}/logs",
            *(CORE_ONLY if core_only else []),
        ]
        env = {**os.environ, **paths.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "0"}
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _WRAPPER, *cmd], env=env, capture_output=True, text=True, check=True
        )
        seconds = time.perf_counter() - t0
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, result["maxrss_kb"] / 1024, result["rc"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="0.1,1.0", help="comma-separated scales (default 0.1,1.0)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "stralebruk-bench-warehouse",
        help="where the generated years are kept (reused across runs)",
    )
    parser.add_argument("--core-only", action="store_true", help="leave out the delivery models")
    parser.add_argument(
        "--replicate-from",
        type=float,
        default=None,
        help="instead of generating a scale larger than this one, replicate this scale's lake",
    )
    args = parser.parse_args()
    figures: dict[str, float | int | bool | str | None] = {
        "seconds_scale_0_1": None,
        "seconds_scale_1_0": None,
    }
    peak = 0.0
    ok = True
    for scale in (float(s) for s in args.scales.split(",")):
        paths = Paths.from_env(args.data_dir / f"scale_{scale:g}")
        if args.replicate_from and scale > args.replicate_from:
            source = Paths.from_env(args.data_dir / f"scale_{args.replicate_from:g}")
            prepare(source, args.replicate_from)
            paths = Paths.from_env(args.data_dir / f"scale_{scale:g}_replicated")
            replicate(source, paths, round(scale / args.replicate_from))
            figures[f"method_scale_{_label(scale)}"] = f"replicated scale {args.replicate_from:g} lake"
        else:
            prepare(paths, scale)
        seconds, rss_mb, rc = build(paths, args.core_only)
        ok = ok and rc == 0
        peak = max(peak, rss_mb)
        figures[f"seconds_scale_{_label(scale)}"] = round(seconds, 1)
        figures[f"peak_rss_mb_scale_{_label(scale)}"] = round(rss_mb)
        print(
            f"scale {scale}: dbt build {seconds:.1f} s, peak RSS {rss_mb:.0f} MB, "
            f"{'passed' if rc == 0 else f'FAILED (exit {rc})'}"
        )
    figures.update({"peak_rss_mb": round(peak), "build_passed": ok, "core_only": args.core_only})
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
