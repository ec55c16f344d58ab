"""Benchmark the synthetic generator: MB of XML per second, and size and time at --scale 0.1.

Usage: .venv/bin/python benchmarks/generate.py [--scale 0.1] [--small 0.01] [--workers N]
Prints the figures, then ONE JSON line (mb_per_s, xml_mb_scale_0_1, seconds_scale_0_1, ...).
The target is --scale 0.1 in under 2 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# benchmarks/extract.py would shadow the extract package when run as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synth import generate


def _run(out: Path, scale: float, workers: int | None) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    manifest = generate(out, scale=scale, seed=1, workers=workers, progress=False)
    seconds = time.perf_counter() - t0
    files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    return seconds, sum(f["size"] for f in files) / 1e6, len(files)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--small", type=float, default=0.01, help="scale of the small warm-up run")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    workers = args.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="stralebruk-bench-") as tmp:
        small_s, small_mb, small_n = _run(Path(tmp) / "small", args.small, workers)
        print(
            f"scale {args.small}: {small_n} files, {small_mb:.1f} MB in {small_s:.1f} s "
            f"({small_mb / small_s:.1f} MB/s)"
        )
        big_s, big_mb, big_n = _run(Path(tmp) / "big", args.scale, workers)
        print(
            f"scale {args.scale}: {big_n} files, {big_mb:.1f} MB in {big_s:.1f} s ({big_mb / big_s:.1f} MB/s)"
        )
    print(
        json.dumps(
            {
                "mb_per_s": round(big_mb / big_s, 2),
                "xml_mb_scale_0_1": round(big_mb, 1),
                "seconds_scale_0_1": round(big_s, 1),
                "files_scale_0_1": big_n,
                "scale": args.scale,
                "small_scale": args.small,
                "mb_per_s_small": round(small_mb / small_s, 2),
                "workers": workers,
            }
        )
    )


if __name__ == "__main__":
    main()
