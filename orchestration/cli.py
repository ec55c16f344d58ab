"""`stralebruk`: the command line. Thin: it parses arguments and calls synth/ (generate), deliver/
(deliver, with the paths of `orchestration.settings`) and orchestration/ (run, ui)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Data warehouse for medical radiation use reported to the Norwegian Patient Registry (NPR):
radiotherapy (str), imaging activity (raa), imaging dose (rad), image-guided procedures (ord)
and person identification (ide).

Typical use:
  stralebruk generate --out data/inbox --scale 0.01     synthetic messages for a small year
  stralebruk run                                        ingest the inbox, build, publish
  stralebruk deliver dsa --year 2025                    a delivery folder for DSA
  stralebruk ui                                         the Dagster UI on the same data
"""


def _data_dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data directory (default: $STRALEBRUK_DATA_DIR or ./data)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stralebruk", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate",
        help="write synthetic NPR messages (all five modules) and a truth manifest",
        description="Write a realistic synthetic national year of NPR messages (str, raa, rad, "
        "ord, ide) to --out, with truth.json describing what was generated. Deterministic "
        "for a seed.",
    )
    gen.add_argument("--out", type=Path, required=True, help="output folder (the inbox)")
    gen.add_argument("--year", type=int, default=2025, help="activity year (default 2025)")
    gen.add_argument("--scale", type=float, default=0.01, help="1.0 = a national year (default 0.01)")
    gen.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    gen.add_argument("--workers", type=int, default=None, help="processes (default: number of cores)")
    gen.add_argument(
        "--fault-share",
        type=float,
        default=None,
        help="share of files made faulty on purpose (default: the generator's)",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress output")

    run = sub.add_parser(
        "run",
        help="ingest everything new in the inbox, rebuild what depends on it, publish",
        description="Run the whole asset graph in-process: extract new inbox files into the "
        "lake, dbt build, publish the served warehouse, write deliveries.",
    )
    run.add_argument("--inbox", type=Path, default=None, help="inbox (default <data dir>/inbox)")
    _data_dir_arg(run)

    deliver = sub.add_parser(
        "deliver",
        help="write a delivery folder for DSA or the regional health authorities",
        description="Write <data dir>/deliveries/<kind>/<cut>/ with every table as CSV and "
        "Parquet, a spreadsheet, manifest.json, diff.json and report.html.",
    )
    deliver.add_argument("kind", choices=["dsa", "rhf"], help="dsa (yearly) or rhf (monthly)")
    deliver.add_argument("--year", type=int, required=True, help="delivery year")
    deliver.add_argument(
        "--month", type=int, default=None, choices=range(1, 13), metavar="M", help="month 1-12 (rhf only)"
    )
    _data_dir_arg(deliver)

    ui = sub.add_parser(
        "ui",
        help="start the Dagster UI on the same data (Ctrl-C stops it cleanly)",
        description="Start `dagster dev` for this project on a loopback port.",
    )
    ui.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    _data_dir_arg(ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Imports are lazy so that `--help` and `generate` stay fast (Dagster and dbt load slowly).
    if args.command == "generate":
        from synth import generate

        generate(
            args.out,
            year=args.year,
            scale=args.scale,
            seed=args.seed,
            workers=args.workers,
            fault_share=args.fault_share,
            progress=not args.quiet,
        )
        return 0
    if args.command == "run":
        from orchestration.run import run_pipeline

        return run_pipeline(inbox=args.inbox, data_dir=args.data_dir)
    if args.command == "deliver":
        from deliver import DeliveryError, deliver
        from orchestration.settings import DBT_MANIFEST, Paths

        if args.kind == "dsa" and args.month is not None:
            parser.error("--month applies to rhf deliveries only")
        paths = Paths.from_env(args.data_dir)
        try:
            folder = deliver(
                args.kind,
                year=args.year,
                month=args.month,
                warehouse=paths.served_warehouse,
                lake=paths.lake,
                deliveries=paths.deliveries,
                dbt_manifest=DBT_MANIFEST,
            )
        except DeliveryError as exc:  # a state the user can fix: a message, not a traceback
            print(f"stralebruk deliver: {exc}", file=sys.stderr)
            return 1
        print(folder)
        return 0
    if args.command == "ui":
        from orchestration.ui import start_ui

        return start_ui(port=args.port, data_dir=args.data_dir)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
