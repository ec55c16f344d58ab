"""`stralebruk`: the command line. Thin: it parses arguments and calls synth/ (generate), extract/
(doctor, rotate-key), deliver/ (deliver, with the paths of `orchestration.settings`) and
orchestration/ (run, ui)."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from pathlib import Path

# Activity years the registry can hold: NPR started in the 1990s; a year past next is a typo.
FIRST_YEAR, LAST_YEAR = 1990, 2100

DESCRIPTION = """\
Data warehouse for medical radiation use reported to the Norwegian Patient Registry (NPR):
radiotherapy (str), imaging activity (raa), imaging dose (rad), image-guided procedures (ord)
and person identification (ide).

Typical use:
  stralebruk generate --out data/inbox --scale 0.01     synthetic messages for a small year
  stralebruk generate --out data/inbox --years 2021-2025 --as-of 2024-06-30
                                                        a history, as it had arrived by a date
  stralebruk run                                        ingest the inbox, build, publish
  stralebruk deliver dsa --year 2025                    a delivery folder for DSA
  stralebruk deliver qa --all --year 2025               feedback folders for every sender
  stralebruk ui                                         the Dagster UI on the same data
"""


# Argument types: a bad value is an argparse error (usage and one line, exit code 2), not a traceback.


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


def share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _int_between(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}-{high}, got {text}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


year = _int_between(FIRST_YEAR, LAST_YEAR)
seed = _int_between(0, 2**32 - 1)
workers = _int_between(1, 512)
port = _int_between(1, 65535)


def folder(text: str) -> Path:
    """A folder that may not exist yet, but is not a file (nor under one)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    path = Path(text).expanduser()
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise argparse.ArgumentTypeError(f"{p} is a file, not a folder")
            break
    return path


def existing_folder(text: str) -> Path:
    path = folder(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no folder {path}")
    return path


def years_range(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        a, b = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: want YYYY or YYYY-YYYY") from None
    if not FIRST_YEAR <= a <= b <= LAST_YEAR:
        raise argparse.ArgumentTypeError(f"{text!r}: years {FIRST_YEAR}-{LAST_YEAR}, first <= last")
    return a, b


def orgnr(text: str) -> str:
    """An organisation number: nine digits."""
    value = text.strip()
    if len(value) != 9 or not value.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an organisation number (nine digits)")
    return value


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _data_dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=folder,
        default=None,
        help="data directory (default: $STRALEBRUK_DATA_DIR or ./data)",
    )


def _inbox_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inbox", type=existing_folder, default=None, help="inbox (default <data dir>/inbox)")


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
    gen.add_argument("--out", type=folder, required=True, help="output folder (the inbox)")
    gen.add_argument(
        "--year",
        type=year,
        default=None,
        help=f"one activity year {FIRST_YEAR}-{LAST_YEAR} (default 2025; with --years: its last year)",
    )
    gen.add_argument(
        "--years",
        type=years_range,
        default=None,
        metavar="YYYY[-YYYY]",
        help="a history of one synthetic population over these years, e.g. 2021-2025 (persons, "
        "pasientNr and ids stay stable across years)",
    )
    gen.add_argument(
        "--as-of",
        dest="as_of",
        type=iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="write only the files that had arrived at NPR by this date; a later call with a later "
        "date adds just the newly arrived files to the same --out (default: everything)",
    )
    gen.add_argument(
        "--scale", type=positive_float, default=0.01, help="above 0; 1.0 = a national year (default 0.01)"
    )
    gen.add_argument("--seed", type=seed, default=1, help="random seed, 0 to 2^32-1 (default 1)")
    gen.add_argument("--workers", type=workers, default=None, help="processes (default: number of cores)")
    gen.add_argument(
        "--fault-share",
        type=share,
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
    _inbox_arg(run)
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="build, publish and deliver even when nothing is new (a normal run then does nothing)",
    )
    _data_dir_arg(run)

    deliver = sub.add_parser(
        "deliver",
        help="write a delivery folder for DSA or the regional health authorities, or sender feedback",
        description="Write <data dir>/deliveries/<kind>/<cut>/ with every table as CSV and "
        "Parquet, a spreadsheet, manifest.json, diff.json and report.html. Kind qa: the feedback "
        "folder of a reporting institution, <data dir>/deliveries/qa/<orgnr>/<cut>/ (its files, "
        "findings, completeness by month; tables, manifest.json, report.html).",
    )
    deliver.add_argument(
        "kind",
        choices=["dsa", "rhf", "qa"],
        help="dsa (yearly), rhf (monthly) or qa (feedback to a sender)",
    )
    deliver.add_argument("--year", type=year, required=True, help=f"delivery year {FIRST_YEAR}-{LAST_YEAR}")
    deliver.add_argument(
        "--month", type=int, default=None, choices=range(1, 13), metavar="M", help="month 1-12 (rhf only)"
    )
    senders = deliver.add_mutually_exclusive_group()
    senders.add_argument(
        "--institution", type=orgnr, default=None, metavar="ORGNR", help="qa: the reporting institution"
    )
    senders.add_argument(
        "--all",
        dest="all_institutions",
        action="store_true",
        help="qa: every institution that sent files for the year",
    )
    _data_dir_arg(deliver)

    doctor = sub.add_parser(
        "doctor",
        help="check the lake, ledger and build file in full and heal them to the state of a clean run",
        description="Read every lake, findings and ledger part in full (Parquet page checksums, "
        "schemas, rows against the ledger); move bad batches to lake/_quarantine/, read their files "
        "again from the inbox, and delete a build warehouse file that no longer opens.",
    )
    doctor.add_argument("--check", action="store_true", help="only report; change nothing (exit 1 if ill)")
    _inbox_arg(doctor)
    _data_dir_arg(doctor)

    rotate = sub.add_parser(
        "rotate-key",
        help="re-derive every pseudonym under a new STRALEBRUK_PSEUDONYM_KEY (then run)",
        description="Set STRALEBRUK_PSEUDONYM_KEY to the new key, then run this: every pseudonym is "
        "derived again from the inbox, which must still hold every file of the lake. Afterwards "
        "`stralebruk run` rebuilds the warehouse under the new key.",
    )
    _inbox_arg(rotate)
    _data_dir_arg(rotate)

    ui = sub.add_parser(
        "ui",
        help="start the Dagster UI on the same data (Ctrl-C stops it cleanly)",
        description="Start `dagster dev` for this project on a loopback port.",
    )
    ui.add_argument("--port", type=port, default=3000, help="port 1-65535 (default 3000)")
    _data_dir_arg(ui)
    return parser


def _deliver_qa(args: argparse.Namespace) -> int:
    """`deliver qa`: one institution's feedback folder, or every sender's of the year (with progress)."""
    from deliver.qa import QAError, QAFolder, make_all_qa, make_qa
    from orchestration.settings import Paths

    paths = Paths.from_env(args.data_dir)
    warehouse, lake, deliveries = paths.served_warehouse, paths.lake, paths.deliveries

    def line(done: QAFolder) -> str:
        who = f"{done.institution} {done.name}" if done.name else done.institution
        return f"{who}: {done.folder}" + ("" if done.new else " (unchanged)")

    def progress(i: int, n: int, done: QAFolder) -> None:
        print(f"[{i:>{len(str(n))}}/{n}] {line(done)}", flush=True)

    try:
        if args.all_institutions:
            done = make_all_qa(
                year=args.year, warehouse=warehouse, lake=lake, deliveries=deliveries, progress=progress
            )
            print(f"{len(done)} QA folders for {args.year} under {deliveries / 'qa'}")
        else:
            one = make_qa(
                args.institution, year=args.year, warehouse=warehouse, lake=lake, deliveries=deliveries
            )
            print(one.folder)
    except QAError as exc:  # a state the user can fix: a message, not a traceback
        print(f"stralebruk deliver qa: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Imports are lazy so that `--help` and `generate` stay fast (Dagster and dbt load slowly).
    if args.command == "generate":
        from synth import generate

        if args.years and args.year is not None and args.year != args.years[1]:
            parser.error("--year must be the last year of --years")
        generate(
            args.out,
            year=args.year,
            years=args.years,
            as_of=args.as_of,
            scale=args.scale,
            seed=args.seed,
            workers=args.workers,
            fault_share=args.fault_share,
            progress=not args.quiet,
        )
        return 0
    if args.command == "run":
        from orchestration.run import run_pipeline

        return run_pipeline(inbox=args.inbox, data_dir=args.data_dir, full_refresh=args.full_refresh)
    if args.command == "deliver":
        from deliver import DeliveryError, deliver
        from orchestration.settings import DBT_MANIFEST, Paths

        if args.kind != "rhf" and args.month is not None:
            parser.error("--month applies to rhf deliveries only")
        if args.kind == "qa":
            if args.institution is None and not args.all_institutions:
                parser.error("deliver qa needs --institution ORGNR or --all")
            return _deliver_qa(args)
        if args.institution is not None or args.all_institutions:
            parser.error("--institution and --all apply to qa only")
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
    if args.command in ("doctor", "rotate-key"):
        from orchestration.settings import Paths

        paths = Paths.from_env(args.data_dir)
        common = ["--lake", str(paths.lake), "--inbox", str(args.inbox or paths.inbox)]
        if args.command == "doctor":
            from extract import doctor as doctor_module

            extra = ["--build", str(paths.build_warehouse)] + (["--check"] if args.check else [])
            return doctor_module.main(common + extra)
        from extract import rotate

        return rotate.main(common)
    if args.command == "ui":
        from orchestration.ui import start_ui

        return start_ui(port=args.port, data_dir=args.data_dir)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
